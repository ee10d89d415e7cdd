package mapping

import (
	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/schemas/xroad"
)

// Identity is who the hub is on the bus and which service it calls at each
// destination. The services name the send operation; polls call the status
// operation of the same member, subsystem and version (StatusHeaders).
type Identity struct {
	Client   xroad.Identifier
	Services map[action.Destination]xroad.Identifier
}

// Synthetic defaults for the test bus (instance SEVDEIR-TEST): the hub's
// subsystem and the two services it calls. Production values come from
// configuration.
var (
	DefaultClient = xroad.Identifier{
		ObjectType: "SUBSYSTEM", XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV",
		MemberCode: "00000000", SubsystemCode: "REGHUB",
	}
	DefaultDMSService = xroad.Identifier{
		ObjectType: "SERVICE", XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV",
		MemberCode: "00000001", SubsystemCode: "DMS", ServiceCode: "OtgToDms", ServiceVersion: "v1",
	}
	DefaultEDDRService = xroad.Identifier{
		ObjectType: "SERVICE", XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV",
		MemberCode: "00000002", SubsystemCode: "EDDR", ServiceCode: "SubmitResidenceChange", ServiceVersion: "v1",
	}
)

// DefaultIdentity returns the synthetic test-bus identity (a fresh map on
// each call).
func DefaultIdentity() Identity {
	return Identity{
		Client: DefaultClient,
		Services: map[action.Destination]xroad.Identifier{
			action.DestMigrationService: DefaultDMSService,
			action.DestNationalRegistry: DefaultEDDRService,
		},
	}
}

// statusServiceCodes names each destination's status (poll) operation.
var statusServiceCodes = map[action.Destination]string{
	action.DestMigrationService: "OtgToDmsStatus",
	action.DestNationalRegistry: "GetChangeStatus",
}

// Headers returns the X-Road headers of the message m sent to dest: the hub as
// client, dest's service, id = message id, userId = the official who
// performed the action, issue = action reference, protocol version 4.0. A
// destination missing from id.Services gets an empty service identifier.
func Headers(dest action.Destination, id Identity, m Meta, official action.Official) xroad.Headers {
	return xroad.Headers{
		Client:          id.Client,
		Service:         id.Services[dest],
		ID:              m.MessageID,
		UserID:          official.ID,
		Issue:           m.ActionRef,
		ProtocolVersion: xroad.ProtocolVersion,
	}
}

// StatusHeaders is Headers for a poll: the service is dest's status
// operation. The id stays the message id the poll asks about.
func StatusHeaders(dest action.Destination, id Identity, m Meta, official action.Official) xroad.Headers {
	h := Headers(dest, id, m, official)
	if code, ok := statusServiceCodes[dest]; ok {
		h.Service.ServiceCode = code
	}
	return h
}
