-- Customers are told (issue 9): the outbox becomes the queue of customer
-- messages that the send-messages job sends, WhatsApp first, e-mail second.
-- SQLite cannot change a CHECK, so the table is rebuilt with the new statuses
-- and columns; nothing references it.
--
-- Statuses: pending (waiting for its first try), sending (claimed by a try:
-- claim_id and claimed_at say which and since when), sent, failed (a try
-- failed; tried again at next_attempt_at), dead (a dead letter: it kept failing
-- or can never be sent; a person may Retry), unknown (the server stopped while
-- sending it, so it may or may not have reached the customer: never resent
-- blindly, a person decides), skipped (never to be sent). The runs of one
-- shop's send-messages job never overlap (its lease), so a message still
-- sending when a run starts was cut off by a stop of the server.
CREATE TABLE outbox_messages (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    order_id        INTEGER REFERENCES orders(id),
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead', 'unknown', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    -- The message's idempotency key, fixed when it is queued: Wazzup's
    -- crmMessageId and the e-mail's Message-ID are made from it, so every try
    -- of one message is the same message to the provider.
    idem_key        TEXT NOT NULL,
    -- What the last try used and said, as sent: the channel, the phone digits
    -- or the e-mail address, the e-mail's subject and the text.
    channel         TEXT NOT NULL DEFAULT '' CHECK (channel IN ('', 'whatsapp', 'email')),
    recipient       TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    -- The provider's id of the sent message (Wazzup's messageId, the Message-ID).
    provider_ref    TEXT NOT NULL DEFAULT '',
    -- The try that holds the message while it sends, and since when.
    claim_id        TEXT NOT NULL DEFAULT '',
    claimed_at      TIMESTAMP,
    UNIQUE (order_id, kind)
);

-- The rows queued so far are of the old kinds (email_confirmation,
-- whatsapp_message, cdek_track), which nothing ever sent. Sending them now
-- would tell customers of orders paid weeks ago, with texts nobody wrote:
-- they are kept, as skipped, with the reason. An order paid from now on gets
-- its msg_paid; the delivery's fetch job does what cdek_track stood for.
INSERT INTO outbox_messages (id, tenant_id, order_id, kind, payload, status, attempts, next_attempt_at, last_error, created_at, sent_at, idem_key)
    SELECT id, tenant_id, order_id, kind, payload,
        CASE status WHEN 'sent' THEN 'sent' ELSE 'skipped' END,
        attempts, next_attempt_at,
        CASE status WHEN 'sent' THEN last_error
            ELSE 'Queued before OrderDesk sent customer messages; not sent after the upgrade, so that nobody is told of an old order late.' END,
        created_at, sent_at, 'msg-' || id || '-' || lower(hex(randomblob(6)))
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_messages RENAME TO outbox;

-- The job claims a shop's due messages: by shop, status and due time.
CREATE INDEX outbox_due_idx ON outbox (tenant_id, status, next_attempt_at);
-- /admin/messages lists a shop's messages newest first, all or by status.
CREATE INDEX outbox_tenant_idx ON outbox (tenant_id, id);
CREATE INDEX outbox_tenant_status_idx ON outbox (tenant_id, status, id);
-- A key names one message at the providers.
CREATE UNIQUE INDEX outbox_idem_key_idx ON outbox (idem_key);

-- "Tell the customer when we buy" (seed 000's purchase at the supplier): off
-- unless the shop wants it.
ALTER TABLE tenants ADD COLUMN notify_purchased INTEGER NOT NULL DEFAULT 0 CHECK (notify_purchased IN (0, 1));
