package store

import (
	"slices"
	"strings"
)

// The lists a location holds that its API manages one item at a time: its
// custom field definitions and its tags. They live in the Location, so the
// state's export, import and reset carry them with it.

// LocationTag is a tag of a location, as its tags API manages it.
type LocationTag struct {
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name" yaml:"name"`
}

// locationList is one such list: where it is in a location, its items' ids
// and what makes two items clash.
type locationList[T any] struct {
	kind  string // the NotFoundError kind of an item
	items func(*Location) *[]T
	id    func(*T) *string
	// clash names the field of v another item already has, "" when none.
	clash func(other, v *T) string
}

var customFieldList = locationList[CustomFieldDef]{
	kind:  "Custom field",
	items: func(l *Location) *[]CustomFieldDef { return &l.CustomFields },
	id:    func(d *CustomFieldDef) *string { return &d.ID },
	clash: func(other, d *CustomFieldDef) string {
		if strings.EqualFold(other.Key, d.Key) {
			return "fieldKey"
		}
		return ""
	},
}

var tagList = locationList[LocationTag]{
	kind:  "Tag",
	items: func(l *Location) *[]LocationTag { return &l.Tags },
	id:    func(t *LocationTag) *string { return &t.ID },
	clash: func(other, t *LocationTag) string {
		if strings.EqualFold(other.Name, t.Name) {
			return "name"
		}
		return ""
	},
}

// of returns the stored list of a location. Callers hold mu.
func (ll locationList[T]) of(s *Store, location string) (*[]T, error) {
	l, ok := s.hl.locations[location]
	if !ok {
		return nil, &NotFoundError{Kind: "Location", ID: location}
	}
	return ll.items(l), nil
}

// find returns the index of the item with id, -1 when there is none.
func (ll locationList[T]) find(items []T, id string) int {
	return slices.IndexFunc(items, func(v T) bool { return *ll.id(&v) == id })
}

// check fails when v clashes with an item other than the one at self.
func (ll locationList[T]) check(items []T, self int, v *T) error {
	for i := range items {
		if i == self {
			continue
		}
		if field := ll.clash(&items[i], v); field != "" {
			return &ConflictError{Field: field, Reason: "is already used by " + strings.ToLower(ll.kind) + " " + *ll.id(&items[i])}
		}
	}
	return nil
}

func (ll locationList[T]) list(s *Store, location string) ([]T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	items, err := ll.of(s, location)
	if err != nil {
		return nil, err
	}
	return slices.Clone(*items), nil
}

func (ll locationList[T]) create(s *Store, location string, v T) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	items, err := ll.of(s, location)
	if err != nil {
		return v, err
	}
	*ll.id(&v) = s.ids.New()
	if err := ll.check(*items, -1, &v); err != nil {
		return v, err
	}
	*items = append(slices.Clone(*items), v)
	return v, nil
}

// at returns the location's stored list and the index of the item with
// id in it, or the NotFoundError of the location or the item. Callers hold
// mu.
func (ll locationList[T]) at(s *Store, location, id string) (*[]T, int, error) {
	items, err := ll.of(s, location)
	if err != nil {
		return nil, -1, err
	}
	i := ll.find(*items, id)
	if i < 0 {
		return nil, -1, &NotFoundError{Kind: ll.kind, ID: id}
	}
	return items, i, nil
}

func (ll locationList[T]) get(s *Store, location, id string) (T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	items, i, err := ll.at(s, location, id)
	if err != nil {
		var zero T
		return zero, err
	}
	return (*items)[i], nil
}

func (ll locationList[T]) update(s *Store, location, id string, fn func(*T) error) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	items, i, err := ll.at(s, location, id)
	if err != nil {
		return zero, err
	}
	v := (*items)[i]
	if err := fn(&v); err != nil {
		return zero, err
	}
	*ll.id(&v) = id
	if err := ll.check(*items, i, &v); err != nil {
		return zero, err
	}
	next := slices.Clone(*items)
	next[i] = v
	*items = next
	return v, nil
}

// remove deletes the item with id. Callers hold mu.
func (ll locationList[T]) remove(s *Store, location, id string) error {
	items, i, err := ll.at(s, location, id)
	if err != nil {
		return err
	}
	*items = slices.Delete(slices.Clone(*items), i, i+1)
	return nil
}

// CustomFieldDefs lists a location's custom field definitions, in the order
// they were made.
func (s *Store) CustomFieldDefs(location string) ([]CustomFieldDef, error) {
	defs, err := customFieldList.list(s, location)
	for i, d := range defs {
		defs[i] = cloneCustomFieldDef(d)
	}
	return defs, err
}

// CreateCustomFieldDef adds a custom field definition to a location, giving
// it an id; a key another definition has is a *ConflictError.
func (s *Store) CreateCustomFieldDef(location string, d CustomFieldDef) (CustomFieldDef, error) {
	return customFieldList.create(s, location, cloneCustomFieldDef(d))
}

// CustomFieldDef returns a custom field definition of a location.
func (s *Store) CustomFieldDef(location, id string) (CustomFieldDef, error) {
	d, err := customFieldList.get(s, location, id)
	return cloneCustomFieldDef(d), err
}

// UpdateCustomFieldDef applies fn to a copy of a definition and stores it.
func (s *Store) UpdateCustomFieldDef(location, id string, fn func(*CustomFieldDef) error) (CustomFieldDef, error) {
	d, err := customFieldList.update(s, location, id, func(d *CustomFieldDef) error {
		*d = cloneCustomFieldDef(*d)
		return fn(d)
	})
	return cloneCustomFieldDef(d), err
}

// DeleteCustomFieldDef removes a definition and the values the location's
// contacts hold for it; the contacts are not otherwise changed (their
// dateUpdated stays, and no change is told).
func (s *Store) DeleteCustomFieldDef(location, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := customFieldList.remove(s, location, id); err != nil {
		return err
	}
	for _, key := range s.hl.contacts.keysOf(location) {
		c := s.hl.contacts.ref(key)
		if slices.ContainsFunc(c.CustomFields, func(v CustomFieldValue) bool { return v.ID == id }) {
			c.CustomFields = slices.DeleteFunc(slices.Clone(c.CustomFields), func(v CustomFieldValue) bool { return v.ID == id })
		}
	}
	return nil
}

// LocationTags lists a location's tags, in the order they were made.
func (s *Store) LocationTags(location string) ([]LocationTag, error) {
	return tagList.list(s, location)
}

// CreateLocationTag adds a tag to a location, giving it an id; a name
// another tag has (in any case) is a *ConflictError.
func (s *Store) CreateLocationTag(location string, t LocationTag) (LocationTag, error) {
	return tagList.create(s, location, t)
}

// LocationTag returns a tag of a location.
func (s *Store) LocationTag(location, id string) (LocationTag, error) {
	return tagList.get(s, location, id)
}

// UpdateLocationTag applies fn to a copy of a tag and stores it.
func (s *Store) UpdateLocationTag(location, id string, fn func(*LocationTag) error) (LocationTag, error) {
	return tagList.update(s, location, id, fn)
}

// DeleteLocationTag removes a tag from the location's list (the contacts
// that carry it keep it).
func (s *Store) DeleteLocationTag(location, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tagList.remove(s, location, id)
}

func cloneCustomFieldDef(d CustomFieldDef) CustomFieldDef {
	d.AcceptedFormat = slices.Clone(d.AcceptedFormat)
	return d
}
