-- Nothing a tenant reads may reveal another tenant's volume (issue 16).

-- Changes are numbered per tenant: `tenant_seq` is what a tenant sees as its stream's event id
-- and as its orders' `version`; the global `seq` stays the row's key, internal. Existing rows
-- are numbered in their global order, tenant by tenant.
ALTER TABLE changes ADD COLUMN tenant_seq INTEGER;
UPDATE changes SET tenant_seq = n.rn
  FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY tenant ORDER BY seq) AS rn FROM changes) AS n
 WHERE changes.seq = n.seq;
-- Resuming reads one tenant's range; the writer finds a tenant's last number by its end.
-- Within a tenant the numbers only grow, so inserts land at the end of the tenant's range.
CREATE UNIQUE INDEX changes_tenant_seq ON changes (tenant, tenant_seq);

-- An order's version was the global seq of its last change: now that change's tenant_seq
-- (or, for an order whose last change is not kept, its latest one, else 0).
UPDATE orders SET version = COALESCE(
    (SELECT c.tenant_seq FROM changes AS c WHERE c.seq = orders.version AND c.tenant = orders.tenant),
    (SELECT MAX(c.tenant_seq) FROM changes AS c
      WHERE c.tenant = orders.tenant AND c.order_id = orders.order_id),
    0);

-- Alerts get a random public id (128 bits, 32 lowercase hex digits): the integer id, a
-- sequence over all tenants, stays internal. New alerts get theirs from the writer.
ALTER TABLE alerts ADD COLUMN public_id TEXT;
UPDATE alerts SET public_id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX alerts_public_id ON alerts (public_id);
