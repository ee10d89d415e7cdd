// Package action holds the registration actions the local registry pushes
// upstream: their shape, the kinds the hub knows, how a submission is
// validated, and the lifecycle that keeps an action pending until every
// destination has acknowledged it (002 §2.1.6).
//
// It is the core of the hub: it imports no adapter. Storage is reached through
// the Store port declared in service.go and implemented by adapters/postgres.
package action

import (
	"time"

	"github.com/google/uuid"
)

// Kind names a registration action (002 §2.1.6).
type Kind string

// The kinds the hub carries (002 §2.1.6, §4.2.22, §7.2–7.4). Adding one is
// an entry in kinds.go plus a mapping.
const (
	KindDeclare    Kind = "residence.declare"
	KindRegister   Kind = "residence.register"
	KindDeregister Kind = "residence.deregister"
	KindCancel     Kind = "residence.cancel"
	// KindExclude excludes a declared place of residence from the register
	// (виключення інформації про задеклароване місце проживання, 002 §2.1.6).
	KindExclude Kind = "residence.exclude"
	// KindStayRegister registers a place of stay (місце перебування).
	KindStayRegister Kind = "stay.register"
	// KindChange changes the place of residence: address is the new one,
	// previous_address the one left (002 §2.1.6, §4.4.17, §4.4.19).
	KindChange Kind = "residence.change"
	// KindCorrect corrects erroneous personal data (002 §7.2–7.3): person
	// is the corrected data, correction the fields and their previous values.
	KindCorrect Kind = "person.correct"
	// KindDeregisterDeath deregisters a person who died, on a death
	// certificate (002 §4.4.14).
	KindDeregisterDeath Kind = "residence.deregister_death"
	// KindAddressChange records an address-directory change — renumbering,
	// renaming of a street, a settlement or an administrative unit — with
	// the previous values preserved (002 §4.2.22, §7.4). It concerns an
	// address, not a person: it carries no person (see PersonKey).
	KindAddressChange Kind = "address.change"
)

// Status is an action's place in its lifecycle.
type Status string

// An action is pending until every delivery is resolved. It is rejected when an
// upstream refused it on business grounds, dead when a delivery ran out of
// retries (operators must act), cancelled by an operator or the registry.
const (
	StatusPending   Status = "pending"
	StatusCompleted Status = "completed"
	StatusRejected  Status = "rejected"
	StatusDead      Status = "dead"
	StatusCancelled Status = "cancelled"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusCompleted, StatusRejected, StatusDead, StatusCancelled:
		return true
	}
	return false
}

// DeliveryStatus is the state of one outgoing message to one destination.
type DeliveryStatus string

// pending: waiting to be sent (first time or retry due); awaiting_ack: the
// upstream gave a receipt and is polled for its decision.
const (
	DeliveryPending      DeliveryStatus = "pending"
	DeliveryAwaitingAck  DeliveryStatus = "awaiting_ack"
	DeliveryAcknowledged DeliveryStatus = "acknowledged"
	DeliveryRejected     DeliveryStatus = "rejected"
	DeliveryDead         DeliveryStatus = "dead"
	DeliveryCancelled    DeliveryStatus = "cancelled"
)

// Destination names an upstream system an action is delivered to.
type Destination string

// The two national systems of the core (002 §3.1.3, §4.2.11).
const (
	// DestMigrationService is the migration service's departmental system (ДМС).
	DestMigrationService Destination = "dms"
	// DestNationalRegistry is the Unified State Demographic Register (ЄДДР).
	DestNationalRegistry Destination = "eddr"
	// DestWebhook carries notifications of status changes to the client
	// that submitted the action; it does not count towards the status.
	DestWebhook Destination = "webhook"
)

// Submission is what the local registry sends: the body of POST /v1/actions.
// Unknown fields are allowed and kept in the stored body.
type Submission struct {
	Kind            Kind            `json:"kind"`
	Person          Person          `json:"person"`
	Address         *Address        `json:"address,omitempty"`
	PreviousAddress *Address        `json:"previous_address,omitempty"`
	EffectiveDate   string          `json:"effective_date"`
	Official        Official        `json:"official"`
	Cancellation    *Cancellation   `json:"cancellation,omitempty"`
	Deregistration  *Deregistration `json:"deregistration,omitempty"`
	BasisDocument   *BasisDocument  `json:"basis_document,omitempty"`
	Correction      *Correction     `json:"correction,omitempty"`
	Death           *Death          `json:"death,omitempty"`
	AddressChange   *AddressChange  `json:"address_change,omitempty"`
}

// Person carries the personal data of 002 §4.4 that the kinds need.
type Person struct {
	UNZR        string    `json:"unzr,omitempty"`
	RNOKPP      string    `json:"rnokpp,omitempty"`
	Surname     string    `json:"surname"`
	GivenNames  string    `json:"given_names"`
	Patronymic  string    `json:"patronymic,omitempty"`
	BirthDate   string    `json:"birth_date"`
	BirthPlace  string    `json:"birth_place,omitempty"`
	Sex         string    `json:"sex"`
	Citizenship string    `json:"citizenship,omitempty"`
	Document    *Document `json:"document,omitempty"`
	// MilitaryStatus says whether the person is on the military register
	// (002 §4.4, §4.2.19.1): conscript, liable, reservist, or not_liable.
	MilitaryStatus string `json:"military_status,omitempty"`
	// MilitaryRegNumber is the military registration document's number.
	MilitaryRegNumber string `json:"military_registration_number,omitempty"`
}

// Document is the identity document the action was performed on.
type Document struct {
	Type     string `json:"type"`
	Number   string `json:"number"`
	IssuedOn string `json:"issued_on,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	Expires  string `json:"expires_on,omitempty"`
}

// Address is a place of residence, keyed by its KATOTTG community code.
type Address struct {
	KATOTTG   string `json:"katottg"`
	Street    string `json:"street,omitempty"`
	Building  string `json:"building,omitempty"`
	Block     string `json:"block,omitempty"`
	Apartment string `json:"apartment,omitempty"`
}

// Official is the registration body's employee who performed the action; it
// becomes the X-Road userId.
type Official struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Position string `json:"position,omitempty"`
}

// Cancellation says which earlier action a residence.cancel undoes and why.
type Cancellation struct {
	// Of is the kind being cancelled: a declaration, a registration (of
	// residence or of stay), a deregistration (also on death) or a change
	// of residence (002 §2.1.6).
	Of Kind `json:"of"`
	// ActionID is the hub's id of the cancelled action, when it went through the hub.
	ActionID string `json:"action_id,omitempty"`
	// Reason is the ground of the cancellation, one of the codes its kind
	// allows (KindSpec.CancelReasons; validate.go lists them).
	Reason string `json:"reason"`
}

// Deregistration carries why a person leaves an address.
type Deregistration struct {
	Reason string `json:"reason"`
}

// BasisDocument is the document the action rests on (application, court decision...).
type BasisDocument struct {
	Type   string `json:"type"`
	Number string `json:"number,omitempty"`
	Date   string `json:"date,omitempty"`
}

// Correction is what a person.correct corrects (002 §7.2–7.3): the fields
// named, and the values they held before. The corrected values are the
// submission's person; the basis is its basis_document.
type Correction struct {
	// Fields names the corrected fields of person (CorrectableFields).
	Fields []string `json:"fields"`
	// Previous holds the erroneous values of exactly those fields.
	Previous *PreviousPerson `json:"previous"`
}

// PreviousPerson is the personal data a correction replaces; only the
// corrected fields are filled.
type PreviousPerson struct {
	Surname     string    `json:"surname,omitempty"`
	GivenNames  string    `json:"given_names,omitempty"`
	Patronymic  string    `json:"patronymic,omitempty"`
	BirthDate   string    `json:"birth_date,omitempty"`
	BirthPlace  string    `json:"birth_place,omitempty"`
	Sex         string    `json:"sex,omitempty"`
	Citizenship string    `json:"citizenship,omitempty"`
	Document    *Document `json:"document,omitempty"`
}

// Death is the death a residence.deregister_death rests on (002 §4.4.14).
type Death struct {
	// Date is the date of death.
	Date        string            `json:"date"`
	Certificate *DeathCertificate `json:"certificate"`
}

// DeathCertificate is the death certificate, or the document of a foreign
// authority registering the death, legalised (002 §4.4.14).
type DeathCertificate struct {
	Type string `json:"type"`
	// Number is the series and number together, without separators.
	Number   string `json:"number"`
	IssuedOn string `json:"issued_on"`
	// Issuer is the civil registry office (орган ДРАЦС) that issued it.
	Issuer string `json:"issuer"`
}

// AddressChange is an address-directory change (002 §4.2.22, §7.4): what
// changed in the community KATOTTG, from which values to which. The
// decision it rests on is the submission's basis_document.
type AddressChange struct {
	Type     string        `json:"type"`
	KATOTTG  string        `json:"katottg"`
	Previous *AddressNames `json:"previous"`
	New      *AddressNames `json:"new"`
}

// AddressNames are the parts of an address a directory change renames or
// renumbers. Which parts an address change carries depends on its type.
type AddressNames struct {
	// Unit is the administrative-territorial unit (district, community).
	Unit       string `json:"unit,omitempty"`
	Settlement string `json:"settlement,omitempty"`
	Street     string `json:"street,omitempty"`
	Building   string `json:"building,omitempty"`
	Block      string `json:"block,omitempty"`
}

// PersonKey identifies the queue a submission is ordered in: messages with
// one key to one destination are sent in submission order. For a person,
// УНЗР is the register's own key; РНОКПП stands in when a person has none.
//
// An address.change concerns no person: its key is "address:" and the
// community's KATOTTG code, so that every directory change of a community
// is sent in submission order — a street renamed and then a renumbering in
// the renamed street must arrive in that order, which a key by street
// (old or new name) would not ensure. Directory changes are rare; one queue
// per community costs nothing. Its order relative to the persons' own
// queues is not kept (no key can be shared with every person at the address).
func (s *Submission) PersonKey() string {
	if s.Kind == KindAddressChange && s.AddressChange != nil {
		return "address:" + s.AddressChange.KATOTTG
	}
	if s.Person.UNZR != "" {
		return "unzr:" + s.Person.UNZR
	}
	if s.Person.RNOKPP != "" {
		return "rnokpp:" + s.Person.RNOKPP
	}
	return "name:" + s.Person.Surname + "|" + s.Person.GivenNames + "|" + s.Person.BirthDate
}

// Action is an accepted submission with its deliveries, as stored.
type Action struct {
	ID             uuid.UUID
	Reference      string
	ClientID       string
	IdempotencyKey string
	Kind           Kind
	Status         Status
	StatusReason   string
	Body           []byte
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CompletedAt    *time.Time
	Deliveries     []Delivery
	// Warnings the guards raised when the action was accepted (guard.go).
	Warnings []Warning
	// RoutingVersion is the version of the routing rules that chose the
	// recipients; empty when the kind table did.
	RoutingVersion string
}

// Delivery is the state of one destination's message for an action.
type Delivery struct {
	MessageID     uuid.UUID
	Destination   Destination
	Status        DeliveryStatus
	Attempts      int
	LastError     string
	ErrorClass    string
	UpstreamRef   string
	Receipt       string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	NextAttemptAt *time.Time
	SentAt        *time.Time
	AckedAt       *time.Time
}
