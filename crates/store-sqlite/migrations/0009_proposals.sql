-- The description fallback's proposal for a quarantined code (docs/mapping.md): what the
-- vendor's text seemed to say, under the tenant's threshold, as JSON
-- ({"status":..,"reason":..,"confidence":..,"phrase":..}); NULL when the text said nothing
-- the fallback reads. A person accepts it (POST /v1/unmapped/{source}/{code}/accept) or maps
-- the code otherwise.
ALTER TABLE unmapped ADD COLUMN proposal TEXT;
