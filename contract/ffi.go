//go:build pact

package contract

/*
#cgo LDFLAGS: -lpact_ffi
#include <stdlib.h>

// The part of libpact_ffi 0.4's verifier interface that runVerifier uses.
typedef struct VerifierHandle VerifierHandle;
VerifierHandle *pactffi_verifier_new_for_application(const char *name, const char *version);
void pactffi_verifier_shutdown(VerifierHandle *handle);
void pactffi_verifier_set_provider_info(VerifierHandle *handle, const char *name, const char *scheme,
	const char *host, unsigned short port, const char *path);
void pactffi_verifier_set_provider_state(VerifierHandle *handle, const char *url, unsigned char teardown,
	unsigned char body);
int pactffi_verifier_set_verification_options(VerifierHandle *handle, unsigned char disable_ssl_verification,
	unsigned long request_timeout);
int pactffi_verifier_set_coloured_output(VerifierHandle *handle, unsigned char coloured_output);
int pactffi_verifier_set_no_pacts_is_error(VerifierHandle *handle, unsigned char is_error);
void pactffi_verifier_add_file_source(VerifierHandle *handle, const char *file);
int pactffi_verifier_execute(VerifierHandle *handle);
const char *pactffi_verifier_output(const VerifierHandle *handle, unsigned char strip_ansi);
const char *pactffi_verifier_json(const VerifierHandle *handle);
void pactffi_string_delete(char *string);
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// ffiMu keeps one verification at a time: the library's verifier is not
// documented as safe to run twice at once in a process.
var ffiMu sync.Mutex

// runVerifier runs Pact's verifier of libpact_ffi once. It returns the
// verifier's report and JSON result, and whether every interaction passed;
// err is a verifier that could not run.
func runVerifier(run verifierRun) (verifierResult, error) {
	ffiMu.Lock()
	defer ffiMu.Unlock()
	var free []unsafe.Pointer
	cs := func(s string) *C.char {
		c := C.CString(s)
		free = append(free, unsafe.Pointer(c))
		return c
	}
	defer func() {
		for _, p := range free {
			C.free(p)
		}
	}()
	h := C.pactffi_verifier_new_for_application(cs("contactbridge"), cs("1"))
	if h == nil {
		return verifierResult{}, fmt.Errorf("%w: no verifier", ErrVerifierFailed)
	}
	defer C.pactffi_verifier_shutdown(h)
	C.pactffi_verifier_set_provider_info(h, cs(run.provider), cs(run.scheme), cs(run.host), C.ushort(run.port), cs(run.path))
	C.pactffi_verifier_set_provider_state(h, cs(run.stateURL), 1, 1)
	C.pactffi_verifier_set_verification_options(h, 0, C.ulong(run.timeout.Milliseconds()))
	C.pactffi_verifier_set_coloured_output(h, 0)
	C.pactffi_verifier_set_no_pacts_is_error(h, 1)
	for _, f := range run.files {
		C.pactffi_verifier_add_file_source(h, cs(f))
	}
	code := C.pactffi_verifier_execute(h)
	res := verifierResult{
		output: takeString(C.pactffi_verifier_output(h, 1)),
		json:   []byte(takeString(C.pactffi_verifier_json(h))),
	}
	switch code {
	case 0:
		res.passed = true
	case 1:
	default:
		return res, fmt.Errorf("%w: code %d: %s", ErrVerifierFailed, int(code), res.output)
	}
	return res, nil
}

// takeString copies and frees a string the library made.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	defer C.pactffi_string_delete(p)
	return C.GoString(p)
}
