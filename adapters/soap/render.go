package soapclient

import (
	"github.com/reghub/reghub/outbox"

	"github.com/reghub/reghub/mapping"
)

var (
	_ outbox.Renderer = (*dmsSender)(nil)
	_ outbox.Renderer = (*eddrSender)(nil)
)

// Render returns the SOAP envelope Send posts for m, headers included, so
// operators see exactly the message sent.
func (s *dmsSender) Render(m outbox.Message) ([]byte, error) {
	sub, meta, err := s.prepare(m)
	if err != nil {
		return nil, err
	}
	req, err := mapping.ToDMS(sub, meta)
	if err != nil {
		return nil, s.mappingError(m, err)
	}
	return mapping.Envelope(mapping.Headers(s.dest, s.identity, meta, sub.Official), req)
}

// Render returns the SOAP envelope Send posts for m, headers included.
func (s *eddrSender) Render(m outbox.Message) ([]byte, error) {
	sub, meta, err := s.prepare(m)
	if err != nil {
		return nil, err
	}
	req, err := mapping.ToEDDR(sub, meta)
	if err != nil {
		return nil, s.mappingError(m, err)
	}
	return mapping.Envelope(mapping.Headers(s.dest, s.identity, meta, sub.Official), req)
}
