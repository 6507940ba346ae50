package store

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Email identity, the twin's choice where the vendors are silent (README,
// "Text identity"): two emails are the same when their simple case folds
// are equal, rune by rune (Unicode simple case folding, not full folding:
// "ß" stays one rune, never "ss"). An email must be in Unicode NFC: one that
// NFC would change is refused, so an email never differs from its NFC form
// and canonical equivalents (a precomposed and a decomposed "é") never make
// two identities. The Kelvin sign (U+212A) is such an email: NFC turns it
// into "K", so it is refused, and it never collides with "k".

// EmailKey is the identity of an email as the store compares emails (for
// duplicates, upsert and lookups): its simple case fold.
func EmailKey(email string) string {
	return strings.Map(func(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }, email)
}

// checkEmailForm refuses an email that is not in NFC.
func checkEmailForm(email string) error {
	if !norm.NFC.IsNormalString(email) {
		return &InvalidError{Field: "email", Reason: "must be in Unicode normalization form C (NFC): " +
			"a character NFC changes (the Kelvin sign, a decomposed accent) is not taken"}
	}
	return nil
}
