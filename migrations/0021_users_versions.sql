-- Every signed-in request reads its user (active? its sessions revoked?):
-- kept under the shop's version (model.FindUserByID), which changes to the
-- shop's users move, so that a deactivation or a role change shows at once.

CREATE TRIGGER users_version_insert AFTER INSERT ON users BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER users_version_update AFTER UPDATE ON users BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER users_version_delete AFTER DELETE ON users BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
