package mapping

import "github.com/reghub/reghub/action"

// What the kinds beyond the core four add to a message, shared by both
// destinations: the words the upstreams read for the hub's codes.

// cancelReasonWording is the ground of a cancellation (action.Cancel*) as
// the upstreams read it: both take the reason as free text, so each code
// travels as the register's wording of its ground (one wording per code,
// so the ground can still be told apart). A reason that is not a known code
// — a cancellation accepted before the codes were checked — is sent as it
// was written.
var cancelReasonWording = map[string]string{
	action.CancelErroneousEntry:      "помилково внесені відомості",
	action.CancelViolationOfLaw:      "реєстраційну дію проведено з порушенням вимог Закону",
	action.CancelDMSNoticeConfirmed:  "порушення, про яке повідомила ДМС, підтверджено перевіркою",
	action.CancelDocumentInvalid:     "паспортний документ, на підставі якого вчинено дію, визнано недійсним",
	action.CancelCivilRecordAnnulled: "актовий запис цивільного стану анульовано",
}

// CancelReasonText returns the wording sent upstream for a cancellation's
// reason: the wording of a known code, or the reason itself.
func CancelReasonText(reason string) string {
	if w, ok := cancelReasonWording[reason]; ok {
		return w
	}
	return reason
}
