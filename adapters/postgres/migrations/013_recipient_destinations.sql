-- The recipients beyond the national systems (routing rules, monthly sets)
-- are destinations operators pause and resume like the others
-- (ops.Destinations).
INSERT INTO destinations (name) VALUES ('previous_body'), ('military'), ('voter_register'), ('statistics')
ON CONFLICT DO NOTHING;
