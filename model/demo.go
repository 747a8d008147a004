package model

import (
	"context"
	"errors"
)

// DemoTenantSlug is the slug of the demo shop that `make run` creates.
const DemoTenantSlug = "demo"

// DemoOwnerEmail is the demo owner's sign-in.
const DemoOwnerEmail = "owner@demo.test"

// SeedDemo creates the demo tenant and its users when the tenant does not exist yet.
// It reports whether it created anything, so that a second start does not re-seed.
func (s *Store) SeedDemo(ctx context.Context, password string) (bool, error) {
	if _, err := s.FindTenantBySlug(ctx, DemoTenantSlug); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	t, err := s.CreateTenant(ctx, NewTenant{Slug: DemoTenantSlug, Name: "Demo Shop", Currency: "USD"})
	if err != nil {
		return false, err
	}
	for _, u := range []NewUser{
		{Email: DemoOwnerEmail, Name: "Demo Owner", Role: RoleOwner},
		{Email: "staff@demo.test", Name: "Demo Staff", Role: RoleStaff},
		{Email: "operator@demo.test", Name: "Demo Operator", Role: RoleOperator},
	} {
		u.Password = password
		if _, err := s.CreateUser(ctx, t.ID, u); err != nil {
			return false, err
		}
	}
	return true, nil
}
