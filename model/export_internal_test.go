package model

// DashboardBuckets exposes the dashboard's bucket conditions to the external
// tests, which compare each kept count with a fresh count of its condition.
var DashboardBuckets = dashboardBuckets
