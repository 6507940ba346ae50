package store

import "strings"

// A decoded record's strings are laid out compactly before it is stored:
// the values many records share (a location's or user's id, a tag, a city)
// are kept once, and the record's other strings are copied one after the
// other into a chunk shared with the records decoded next, where decoding
// gave each string an allocation of its own. At 100,000 contacts with
// 400,000 tasks and notes that is 1.9 million strings: fewer bytes (each
// allocation rounds up to its size class), far fewer objects for the
// collector to mark, and the decoded strings are garbage at once.

// maxVocab bounds the shared values a packer keeps: past it, a value not yet
// seen is copied into its record's block, as the record's own.
const maxVocab = 1 << 14

// packChunk is the size of the chunks a packer copies records' strings
// into, one block after another: a large allocation of its own, apart from
// the small ones the decoding leaves behind as garbage (which then free
// whole spans, to return to the OS), and one allocation for hundreds of
// records. A chunk stays allocated while a string in it is kept.
const packChunk = 64 << 10

// packer lays out the strings of records (see above). It is not safe for
// concurrent use: each decoder of a state has its own.
type packer struct {
	vocab map[string]string // the values shared
	chunk strings.Builder   // the current chunk
}

func newPacker() *packer { return &packer{vocab: map[string]string{}} }

// share makes *s the kept copy of its value, keeping it when there is room,
// and reports whether it did: a value not kept is the record's own (and
// "" is nothing to keep).
func (p *packer) share(s *string) bool {
	if *s == "" {
		return true
	}
	if kept, ok := p.vocab[*s]; ok {
		*s = kept
		return true
	}
	if len(p.vocab) < maxVocab {
		p.pack(s) // in a chunk too: the decoded string is garbage with the rest
		p.vocab[*s] = *s
		return true
	}
	return false
}

// shareAll shares each of shared, and appends to own those not kept.
func (p *packer) shareAll(own []*string, shared ...*string) []*string {
	for _, s := range shared {
		if !p.share(s) {
			own = append(own, s)
		}
	}
	return own
}

// pack copies a record's own strings into the chunk, one after the other,
// each then a slice of it.
func (p *packer) pack(own ...*string) {
	n := 0
	for _, f := range own {
		n += len(*f)
	}
	if p.chunk.Cap()-p.chunk.Len() < n {
		p.chunk = strings.Builder{} // the strings made keep the last one
		p.chunk.Grow(max(packChunk, n))
	}
	at := p.chunk.Len()
	for _, f := range own {
		p.chunk.WriteString(*f)
	}
	sliceOf(p.chunk.String(), at, own) // no copy: the chunk never moves, it only fills
}

// sliceOf makes the strings of own, copied into block one after the other
// from at, slices of it, and returns where they end.
func sliceOf(block string, at int, own []*string) int {
	for _, f := range own {
		if len(*f) > 0 {
			*f, at = block[at:at+len(*f)], at+len(*f)
		}
	}
	return at
}

// packStrings copies the strings of c, a contact the API writes, into one
// block of their size, each then a slice of it: one allocation for all of
// them, where its decoding gave each its own. Unlike a packer's chunk, the
// block is the contact's alone, so that it goes with the contact's version.
// It takes c's fields as a fixed array and its lists' strings one by one,
// with no list of pointers that could grow: the contact a create copies
// (storable) stays on the stack rather than being allocated only to be
// copied into the table's slab.
func (c *Contact) packStrings() {
	fields := c.fields()
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	for _, t := range c.Tags {
		n += len(t)
	}
	for _, f := range c.CustomFields {
		n += len(f.ID) + len(f.Value)
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		b.WriteString(*f)
	}
	for _, t := range c.Tags {
		b.WriteString(t)
	}
	for _, f := range c.CustomFields {
		b.WriteString(f.ID)
		b.WriteString(f.Value)
	}
	block := b.String()
	at := sliceOf(block, 0, fields[:])
	for i := range c.Tags {
		at = sliceOf(block, at, []*string{&c.Tags[i]})
	}
	for i := range c.CustomFields {
		f := &c.CustomFields[i]
		at = sliceOf(block, at, []*string{&f.ID, &f.Value})
	}
}

// sharedFields is how many of a contact's fields (Contact.fields) come
// first as values many contacts have alike.
const sharedFields = 9

// fields are c's string fields: first those many contacts have alike (a
// location, a user, a place), then the contact's own.
func (c *Contact) fields() [20]*string {
	return [...]*string{&c.LocationID, &c.AssignedTo, &c.City, &c.State, &c.Country, &c.Timezone,
		&c.Source, &c.Type, &c.Gender,
		&c.ID, &c.FirstName, &c.LastName, &c.Name, &c.Email, &c.Phone, &c.CompanyName,
		&c.Address1, &c.PostalCode, &c.Website, &c.BusinessID}
}

// textFields appends c's strings to shared and own: those many contacts
// have alike (a location, a user, a place, a tag, a custom field's id and
// short value), and the contact's own.
func (c *Contact) textFields(shared, own []*string) ([]*string, []*string) {
	fields := c.fields()
	shared = append(shared, fields[:sharedFields]...)
	for i := range c.Tags {
		shared = append(shared, &c.Tags[i])
	}
	for i := range c.CustomFields {
		f := &c.CustomFields[i]
		shared = append(shared, &f.ID)
		if len(f.Value) <= maxSharedValue {
			shared = append(shared, &f.Value)
		} else {
			own = append(own, &f.Value)
		}
	}
	own = append(own, fields[sharedFields:]...)
	return shared, own
}

// compactRecord lays out the strings of v, a record just decoded, when its
// type says how (a HighLevel contact's or contact's record's).
func compactRecord[T any](v *T, p *packer) {
	if c, ok := any(v).(interface{ compact(*packer) }); ok {
		c.compact(p)
	}
}

func (c *Contact) compact(p *packer) {
	var sharedBuf, ownBuf [24]*string
	shared, own := c.textFields(sharedBuf[:0], ownBuf[:0])
	p.pack(p.shareAll(own, shared...)...)
}

// maxSharedValue is the longest custom field value shared: a choice, a
// number; a longer one is more likely the contact's own text.
const maxSharedValue = 32

// A record's owner field (its contact's id, or its appointment's) is left
// out of its block: the restore makes it the stored owner's id (reown).

func (t *Task) compact(p *packer) {
	var buf [4]*string
	p.pack(append(p.shareAll(buf[:0], &t.AssignedTo), &t.ID, &t.Title, &t.Body)...)
}

func (n *Note) compact(p *packer) {
	var buf [5]*string
	p.pack(append(p.shareAll(buf[:0], &n.UserID, &n.Title, &n.Color), &n.ID, &n.Body)...)
}

func (a *Appointment) compact(p *packer) {
	var buf [11]*string
	own := p.shareAll(buf[:0], &a.LocationID, &a.CalendarID, &a.Title, &a.MeetingLocationType,
		&a.MeetingLocationID, &a.AppointmentStatus, &a.AssignedUserID)
	p.pack(append(own, &a.ID, &a.Description, &a.Address, &a.RRule)...)
}

func (n *AppointmentNote) compact(p *packer) {
	var buf [4]*string
	p.pack(append(p.shareAll(buf[:0], &n.UserID), &n.ID, &n.ContactID, &n.Body)...)
}
