-- Which version of the routing rules chose an action's recipients, so that
-- a rule change can be traced in every action it touched. Empty: routed
-- by the kind table (before rules, or an internal action).
ALTER TABLE actions ADD COLUMN routing_version text NOT NULL DEFAULT '';
