-- The dashboard's procurement state (its OT counts, the sessions it may ask
-- to renew and the jobs whose latest run failed) is kept under the shop's
-- version too (model.FindDashboardState): changes to the shop's Taobao
-- accounts, the sessions OT holds for it and its job runs move the version
-- as 0018's tables do.

CREATE TRIGGER taobao_accounts_version_insert AFTER INSERT ON taobao_accounts BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER taobao_accounts_version_update AFTER UPDATE ON taobao_accounts BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER taobao_accounts_version_delete AFTER DELETE ON taobao_accounts BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;


CREATE TRIGGER ot_provider_sessions_version_insert AFTER INSERT ON ot_provider_sessions BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ot_provider_sessions_version_update AFTER UPDATE ON ot_provider_sessions BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ot_provider_sessions_version_delete AFTER DELETE ON ot_provider_sessions BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;


CREATE TRIGGER job_runs_version_insert AFTER INSERT ON job_runs BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER job_runs_version_update AFTER UPDATE ON job_runs BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER job_runs_version_delete AFTER DELETE ON job_runs BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
