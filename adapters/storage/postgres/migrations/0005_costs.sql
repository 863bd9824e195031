-- 0005_costs: what KIE really charged (issue 18.4) and the operators' runtime prices (issue 18.3).

-- recordInfo's creditsConsumed, stored when the task ends (NULL: KIE did not say).
ALTER TABLE jobs ADD COLUMN cost_credits NUMERIC;

-- Admin stats read delivered jobs by creation time (the margin per model).
CREATE INDEX jobs_delivered_created ON jobs (created_at) WHERE state = 'delivered';

-- An operator's price for a model: KIE credits per billed unit, in place of the catalog's rules.
CREATE TABLE model_prices (
    model_id   TEXT PRIMARY KEY CHECK (model_id <> ''),
    credits    NUMERIC NOT NULL CONSTRAINT model_prices_positive CHECK (credits > 0),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The first job of a model that cost more than its price assumed; kept (alerted once) until a price is confirmed.
CREATE TABLE price_drifts (
    model_id        TEXT PRIMARY KEY CHECK (model_id <> ''),
    catalog_credits NUMERIC NOT NULL,
    real_credits    NUMERIC NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    stopped         BOOLEAN NOT NULL DEFAULT FALSE
);
