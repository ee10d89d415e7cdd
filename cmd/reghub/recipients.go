package main

import (
	"cmp"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/military"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/adapters/statistics"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/routing"
)

// recipientConfig is where the recipients beyond the national systems are
// and which rules choose them.
type recipientConfig struct {
	// Routing is a rules file replacing the built-in routing rules.
	Routing string
	// RegBodyURL, if set, replaces every directory endpoint: the demo and
	// the tests point all other registration bodies at one simulator.
	RegBodyURL    string
	MilitaryURL   string
	VoterURL      string
	StatisticsURL string
	// MonthlyEvery is how often the monthly sets' scheduler looks for a
	// month to send (0: never); MonthlyTZ is the zone months begin in.
	MonthlyEvery        time.Duration
	MonthlyTZ           string
	MonthlyGrace        time.Duration
	StatisticsThreshold int
}

// register adds the flags of serve: where the recipients are, and when the
// monthly sets are built.
func (c *recipientConfig) register(fs *flag.FlagSet) {
	c.registerEndpoints(fs)
	fs.DurationVar(&c.MonthlyEvery, "monthly-every", time.Hour, "how often to look for a month whose sets (voter register, statistics) are not built yet; 0: never build them here")
	c.registerMonthly(fs)
}

// registerMonthly adds the flags of how the monthly sets are built.
func (c *recipientConfig) registerMonthly(fs *flag.FlagSet) {
	fs.StringVar(&c.MonthlyTZ, "monthly-tz", "Europe/Kyiv", "time zone (IANA name) in which months begin")
	fs.DurationVar(&c.MonthlyGrace, "monthly-grace", 15*time.Minute, "how long after the month's first midnight last month's sets wait, so that actions completing across midnight are counted")
	fs.IntVar(&c.StatisticsThreshold, "statistics-threshold", monthly.DefaultThreshold, "smallest count the statistics publish; smaller cells are suppressed (at least 5)")
}

// minMonthlyRetain is the shortest retention the monthly sets allow: the
// month's completed actions must still be there when its sets are built,
// and a set's key for as long as the scheduler may look for it (the month
// after), or the month would be built and sent again.
const minMonthlyRetain = 62 * 24 * time.Hour

// checkMonthlyRetain refuses a retention under which the sets would be
// incomplete or sent twice.
func (c recipientConfig) checkMonthlyRetain(retain time.Duration) error {
	if c.MonthlyEvery > 0 && retain != 0 && retain < minMonthlyRetain {
		return fmt.Errorf("--retain %s is shorter than the %d days the monthly sets need (a month's actions must outlive it, and its sets' keys the month after); raise it, or set --monthly-every 0",
			retain, minMonthlyRetain/(24*time.Hour))
	}
	return nil
}

// registerEndpoints adds the flags of where the recipients are, which a
// delivery worker needs as much as the hub.
func (c *recipientConfig) registerEndpoints(fs *flag.FlagSet) {
	fs.StringVar(&c.Routing, "routing", "", "routing rules file (YAML, see routing/rules.yaml) replacing the built-in rules; a bad file stops the start")
	fs.StringVar(&c.RegBodyURL, "regbody-url", "", "SOAP endpoint that replaces every registration body's endpoint of the routing directory (for a simulator or a single security server); empty: the directory's")
	fs.StringVar(&c.MilitaryURL, "military-url", "http://127.0.0.1:8084", "base URL of the military enlistment centre's REST API")
	fs.StringVar(&c.VoterURL, "voter-url", "http://127.0.0.1:8085/soap", "SOAP endpoint of the State Voter Register")
	fs.StringVar(&c.StatisticsURL, "statistics-url", "http://127.0.0.1:8086", "base URL of the State Statistics Service's REST API")
}

// monthlyZone checks the monthly sets' flags and returns their zone.
func (c recipientConfig) monthlyZone() (*time.Location, error) {
	if c.StatisticsThreshold < monthly.DefaultThreshold {
		return nil, fmt.Errorf("--statistics-threshold %d: below %d a cell could identify a person", c.StatisticsThreshold, monthly.DefaultThreshold)
	}
	loc, err := time.LoadLocation(c.MonthlyTZ)
	if err != nil {
		return nil, fmt.Errorf("--monthly-tz: %w", err)
	}
	return loc, nil
}

// scheduler builds the monthly sets; nil when --monthly-every is 0.
func (c recipientConfig) scheduler(loc *time.Location, src monthly.Source, store monthly.Inserter, stored func(), log *slog.Logger) *monthly.Scheduler {
	if c.MonthlyEvery <= 0 {
		return nil
	}
	return c.newScheduler(loc, src, store, stored, log)
}

func (c recipientConfig) newScheduler(loc *time.Location, src monthly.Source, store monthly.Inserter, stored func(), log *slog.Logger) *monthly.Scheduler {
	return &monthly.Scheduler{Source: src, Store: store, Location: loc, Threshold: c.StatisticsThreshold,
		Grace: c.MonthlyGrace, Stored: stored, Log: log.With("component", "monthly")}
}

// loadRouting reads the routing rules and applies --regbody-url.
func (c recipientConfig) loadRouting() (*routing.Rules, error) {
	var (
		rules *routing.Rules
		err   error
	)
	if c.Routing != "" {
		rules, err = routing.LoadFile(c.Routing)
	} else {
		rules, err = routing.Default()
	}
	if err != nil {
		return nil, err
	}
	if c.RegBodyURL != "" {
		for i := range rules.Directory {
			rules.Directory[i].Endpoint = c.RegBodyURL
		}
	}
	return rules, nil
}

// addRecipientSenders adds the senders of the recipients beyond the
// national systems, the same in the hub and in a delivery worker (which
// then needs the same routing rules: a previous body's endpoint is looked
// up in their directory when the message is sent).
func addRecipientSenders(senders map[action.Destination]outbox.Sender, c recipientConfig, rules *routing.Rules,
	soapCfg soapclient.Config, timeout time.Duration, body mapping.RegistrationBody, log *slog.Logger) {
	senders[routing.DestPreviousBody] = soapclient.NewRegBodySender(soapCfg, rules, nil)
	senders[routing.DestMilitary] = military.New(c.MilitaryURL, timeout, body)
	senders[monthly.DestVoterRegister] = soapclient.NewVoterSender(soapCfg, c.VoterURL, nil)
	senders[monthly.DestStatistics] = statistics.New(c.StatisticsURL, timeout, body)
	log.Info("routing rules loaded", "version", rules.Version, "local_community", rules.LocalCommunity,
		"rules", len(rules.Rules), "directory", len(rules.Directory), "file", cmp.Or(c.Routing, "built-in"))
}
