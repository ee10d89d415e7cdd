-- The console's activity chart counts the attempts of the last hours.
CREATE INDEX delivery_attempts_started ON delivery_attempts (started_at);
