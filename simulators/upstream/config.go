package upstream

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Acknowledgement modes.
const (
	// ModeSync answers a submission with its final outcome at once.
	ModeSync = "sync"
	// ModeAsync answers a submission with a receipt; the outcome is read
	// later with the status operation, once AsyncDelay has passed.
	ModeAsync = "async"
)

// Config holds a simulator's acknowledgement mode and fault knobs. Rates are
// probabilities in [0, 1], drawn per SOAP request from a generator seeded
// with Seed. The zero Config is a healthy synchronous upstream.
//
// Faults are decided before anything is applied: an outage, a 503, a SOAP
// fault or a malformed answer leaves the state untouched (unless
// MalformedApplies). The slow knob is the exception: it applies the message
// and then answers SlowDelay late. Latency, by contrast, is spent before
// applying, and a client that gives up during it leaves nothing applied.
type Config struct {
	// Mode is ModeSync (the default when empty) or ModeAsync.
	Mode string
	// AsyncDelay is how long after acceptance the status operation keeps
	// answering PENDING / IN_PROGRESS.
	AsyncDelay time.Duration

	// Latency (plus a uniform random part below LatencyJitter) is waited
	// before every SOAP request is handled.
	Latency       time.Duration
	LatencyJitter time.Duration

	// ErrorRate answers HTTP 503 with a plain-text body.
	ErrorRate float64
	// ServerFaultRate answers HTTP 500 with a SOAP-ENV:Server fault.
	ServerFaultRate float64
	// ClientFaultRate answers HTTP 500 with a SOAP-ENV:Client fault.
	ClientFaultRate float64
	// MalformedRate answers HTTP 200 with a body that is not well-formed XML.
	MalformedRate float64
	// MalformedApplies makes a malformed answer follow a real application
	// of the message (the change happened; its acknowledgement is unreadable).
	MalformedApplies bool

	// RejectionRate rejects submissions for business reasons. The decision
	// is a hash of Seed and the message id, so every resend of one id gets
	// the same decision.
	RejectionRate float64

	// SlowRate applies the message and then waits SlowDelay before answering:
	// the change is made, the answer arrives after the client's timeout.
	SlowRate  float64
	SlowDelay time.Duration

	// Outage refuses every SOAP request; so does the window
	// [OutageFrom, OutageUntil) (an unset bound is open).
	Outage      bool
	OutageFrom  time.Time
	OutageUntil time.Time
	// OutageClose drops the connection instead of answering 503.
	OutageClose bool

	// AckTwice answers a duplicate of an asynchronously accepted message
	// whose outcome is ready with that outcome (REGISTERED / RECORDED with
	// the record id), not with the original ACCEPTED answer: a second
	// acknowledgement of a message the client may already have settled.
	AckTwice bool

	// Seed seeds the fault generator and the rejection hash. Zero seeds the
	// generator from the clock (the rejection hash still uses zero).
	Seed int64
}

// Validate reports a mode or a rate out of range, or a negative duration.
func (c Config) Validate() error {
	var errs []error
	if c.Mode != "" && c.Mode != ModeSync && c.Mode != ModeAsync {
		errs = append(errs, fmt.Errorf("mode %q: want %q or %q", c.Mode, ModeSync, ModeAsync))
	}
	for name, r := range map[string]float64{
		"error_rate": c.ErrorRate, "server_fault_rate": c.ServerFaultRate,
		"client_fault_rate": c.ClientFaultRate, "malformed_rate": c.MalformedRate,
		"rejection_rate": c.RejectionRate, "slow_rate": c.SlowRate,
	} {
		if math.IsNaN(r) || r < 0 || r > 1 {
			errs = append(errs, fmt.Errorf("%s %v: want a probability in [0, 1]", name, r))
		}
	}
	for name, d := range map[string]time.Duration{
		"async_delay": c.AsyncDelay, "latency": c.Latency,
		"latency_jitter": c.LatencyJitter, "slow_delay": c.SlowDelay,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %v: negative", name, d))
		}
	}
	return errors.Join(errs...)
}

func (c Config) async() bool { return c.Mode == ModeAsync }

// inOutage reports whether now falls in the configured outage.
func (c Config) inOutage(now time.Time) bool {
	if c.Outage {
		return true
	}
	if c.OutageFrom.IsZero() && c.OutageUntil.IsZero() {
		return false
	}
	if !c.OutageFrom.IsZero() && now.Before(c.OutageFrom) {
		return false
	}
	return c.OutageUntil.IsZero() || now.Before(c.OutageUntil)
}

// configJSON is Config on the wire: snake_case names, durations as Go
// duration strings ("250ms"; a number is read as nanoseconds).
type configJSON struct {
	Mode             string       `json:"mode"`
	AsyncDelay       jsonDuration `json:"async_delay"`
	Latency          jsonDuration `json:"latency"`
	LatencyJitter    jsonDuration `json:"latency_jitter"`
	ErrorRate        float64      `json:"error_rate"`
	ServerFaultRate  float64      `json:"server_fault_rate"`
	ClientFaultRate  float64      `json:"client_fault_rate"`
	MalformedRate    float64      `json:"malformed_rate"`
	MalformedApplies bool         `json:"malformed_applies"`
	RejectionRate    float64      `json:"rejection_rate"`
	SlowRate         float64      `json:"slow_rate"`
	SlowDelay        jsonDuration `json:"slow_delay"`
	Outage           bool         `json:"outage"`
	OutageFrom       *time.Time   `json:"outage_from,omitempty"`
	OutageUntil      *time.Time   `json:"outage_until,omitempty"`
	OutageClose      bool         `json:"outage_close"`
	AckTwice         bool         `json:"ack_twice"`
	Seed             int64        `json:"seed"`
}

// MarshalJSON writes the snake_case form with duration strings.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.wire()) }

// UnmarshalJSON reads the form MarshalJSON writes; absent fields are zero.
func (c *Config) UnmarshalJSON(b []byte) error {
	var j configJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = j.config()
	return nil
}

func (c Config) wire() configJSON {
	j := configJSON{
		Mode: c.Mode, AsyncDelay: jsonDuration(c.AsyncDelay),
		Latency: jsonDuration(c.Latency), LatencyJitter: jsonDuration(c.LatencyJitter),
		ErrorRate: c.ErrorRate, ServerFaultRate: c.ServerFaultRate, ClientFaultRate: c.ClientFaultRate,
		MalformedRate: c.MalformedRate, MalformedApplies: c.MalformedApplies,
		RejectionRate: c.RejectionRate, SlowRate: c.SlowRate, SlowDelay: jsonDuration(c.SlowDelay),
		Outage: c.Outage, OutageClose: c.OutageClose, AckTwice: c.AckTwice, Seed: c.Seed,
	}
	if !c.OutageFrom.IsZero() {
		j.OutageFrom = &c.OutageFrom
	}
	if !c.OutageUntil.IsZero() {
		j.OutageUntil = &c.OutageUntil
	}
	return j
}

func (j configJSON) config() Config {
	c := Config{
		Mode: j.Mode, AsyncDelay: time.Duration(j.AsyncDelay),
		Latency: time.Duration(j.Latency), LatencyJitter: time.Duration(j.LatencyJitter),
		ErrorRate: j.ErrorRate, ServerFaultRate: j.ServerFaultRate, ClientFaultRate: j.ClientFaultRate,
		MalformedRate: j.MalformedRate, MalformedApplies: j.MalformedApplies,
		RejectionRate: j.RejectionRate, SlowRate: j.SlowRate, SlowDelay: time.Duration(j.SlowDelay),
		Outage: j.Outage, OutageClose: j.OutageClose, AckTwice: j.AckTwice, Seed: j.Seed,
	}
	if j.OutageFrom != nil {
		c.OutageFrom = *j.OutageFrom
	}
	if j.OutageUntil != nil {
		c.OutageUntil = *j.OutageUntil
	}
	return c
}

type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = jsonDuration(v)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("duration %s: want a string like \"250ms\" or nanoseconds", b)
	}
	*d = jsonDuration(n)
	return nil
}

// RegisterFlags binds the knobs to command-line flags named prefix+name
// (for example "dms-" gives -dms-mode, -dms-error-rate, -dms-outage-from).
// The current values of c are the defaults; times are RFC 3339.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	if c.Mode == "" {
		c.Mode = ModeSync
	}
	fs.StringVar(&c.Mode, prefix+"mode", c.Mode, "acknowledgement mode: sync or async")
	fs.DurationVar(&c.AsyncDelay, prefix+"async-delay", c.AsyncDelay, "async: time until the outcome is ready")
	fs.DurationVar(&c.Latency, prefix+"latency", c.Latency, "wait before handling each SOAP request")
	fs.DurationVar(&c.LatencyJitter, prefix+"latency-jitter", c.LatencyJitter, "extra random wait below this")
	fs.Float64Var(&c.ErrorRate, prefix+"error-rate", c.ErrorRate, "share of requests answered HTTP 503")
	fs.Float64Var(&c.ServerFaultRate, prefix+"server-fault-rate", c.ServerFaultRate, "share answered with a SOAP Server fault")
	fs.Float64Var(&c.ClientFaultRate, prefix+"client-fault-rate", c.ClientFaultRate, "share answered with a SOAP Client fault")
	fs.Float64Var(&c.MalformedRate, prefix+"malformed-rate", c.MalformedRate, "share answered 200 with broken XML")
	fs.BoolVar(&c.MalformedApplies, prefix+"malformed-applies", c.MalformedApplies, "apply before answering broken XML")
	fs.Float64Var(&c.RejectionRate, prefix+"rejection-rate", c.RejectionRate, "share of message ids rejected (deterministic per id)")
	fs.Float64Var(&c.SlowRate, prefix+"slow-rate", c.SlowRate, "share applied, then answered slow-delay late")
	fs.DurationVar(&c.SlowDelay, prefix+"slow-delay", c.SlowDelay, "delay of slow answers")
	fs.BoolVar(&c.Outage, prefix+"outage", c.Outage, "refuse every SOAP request")
	fs.Func(prefix+"outage-from", "outage window start (RFC 3339)", timeFlag(&c.OutageFrom))
	fs.Func(prefix+"outage-until", "outage window end (RFC 3339)", timeFlag(&c.OutageUntil))
	fs.BoolVar(&c.OutageClose, prefix+"outage-close", c.OutageClose, "during an outage drop the connection instead of 503")
	fs.BoolVar(&c.AckTwice, prefix+"ack-twice", c.AckTwice, "answer async duplicates with the final outcome")
	fs.Int64Var(&c.Seed, prefix+"seed", c.Seed, "seed of the fault generator and rejection hash")
}

func timeFlag(t *time.Time) func(string) error {
	return func(s string) error {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return err
		}
		*t = v
		return nil
	}
}
