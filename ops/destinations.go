package ops

import (
	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/routing"
)

// Destinations are every outbox destination an operator may filter by,
// pause and resume: the national systems, the recipients the routing rules
// may add, the monthly sets' recipients and webhooks. Migrations give each
// a row in destinations (003, 004, 013).
var Destinations = []action.Destination{
	action.DestMigrationService, action.DestNationalRegistry,
	routing.DestPreviousBody, routing.DestMilitary,
	monthly.DestVoterRegister, monthly.DestStatistics,
	action.DestWebhook,
}
