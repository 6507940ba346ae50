package highlevel

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"unicode"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// The location's custom field definitions and tags (the vendor's Locations
// API): contacts' customFields name the definitions by id.

// taken words a store conflict (a key or name another item of the location
// has) as a 400; any other error is returned as is.
func taken(err error) error {
	var conflict *store.ConflictError
	if errors.As(err, &conflict) {
		return pipeline.BadRequest(conflict.Field + " " + conflict.Reason)
	}
	return err
}

// pathLocation returns the path's location when the principal may use it.
func (a *API) pathLocation(r *pipeline.Request) (string, error) {
	loc, err := a.location(r, r.Path["locationId"])
	return loc.ID, err
}

// --- custom fields ---

type customFieldView struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	FieldKey           string   `json:"fieldKey"`
	Placeholder        string   `json:"placeholder,omitempty"`
	DataType           string   `json:"dataType"`
	Position           int      `json:"position"`
	AcceptedFormat     []string `json:"acceptedFormat,omitempty"`
	IsMultiFileAllowed bool     `json:"isMultiFileAllowed"`
	MaxFileLimit       int      `json:"maxFileLimit,omitempty"`
	LocationID         string   `json:"locationId"`
	Model              string   `json:"model"`
}

// defaultDataType is the type of a definition made without one (in a state
// file, say).
const defaultDataType = "TEXT"

func viewCustomField(location string, d store.CustomFieldDef) customFieldView {
	v := customFieldView{ID: d.ID, Name: d.Name, FieldKey: d.Key, Placeholder: d.Placeholder, DataType: d.DataType,
		Position: d.Position, AcceptedFormat: d.AcceptedFormat, IsMultiFileAllowed: d.IsMultipleFile,
		MaxFileLimit: d.MaxNumberOfFiles, LocationID: location, Model: modelOf(d)}
	if v.DataType == "" {
		v.DataType = defaultDataType
	}
	return v
}

// modelOf is the model a definition belongs to; "" is contact.
func modelOf(d store.CustomFieldDef) string {
	if d.Model == "" {
		return "contact"
	}
	return d.Model
}

type fieldDefInput struct {
	Name             opt       `json:"name"`
	DataType         opt       `json:"dataType"`
	Placeholder      opt       `json:"placeholder"`
	AcceptedFormat   *[]string `json:"acceptedFormat"`
	IsMultipleFile   *bool     `json:"isMultipleFile"`
	MaxNumberOfFiles *float64  `json:"maxNumberOfFiles"`
	Position         *float64  `json:"position"`
	Model            opt       `json:"model"`
}

// apply writes what an update may change onto d.
func (in *fieldDefInput) apply(d *store.CustomFieldDef) {
	in.Name.to(&d.Name)
	in.Placeholder.to(&d.Placeholder)
	if in.AcceptedFormat != nil {
		d.AcceptedFormat = *in.AcceptedFormat
	}
	if in.IsMultipleFile != nil {
		d.IsMultipleFile = *in.IsMultipleFile
	}
	if in.MaxNumberOfFiles != nil {
		d.MaxNumberOfFiles = int(math.Floor(*in.MaxNumberOfFiles))
	}
	if in.Position != nil {
		d.Position = int(math.Floor(*in.Position))
	}
}

// fieldKey is the key the twin gives a definition: the model, a dot, and
// the name in lower case with each run of other characters than letters
// and digits as one "_" ("Lead score" is contact.lead_score).
func fieldKey(model, name string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			gap = false
		} else {
			gap = true
		}
	}
	return model + "." + b.String()
}

func (a *API) listCustomFields(r *pipeline.Request) (pipeline.Response, error) {
	loc, err := a.pathLocation(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	defs, err := a.Store.CustomFieldDefs(loc)
	if err != nil {
		return pipeline.Response{}, err
	}
	model := r.Query.Get("model")
	views := []customFieldView{}
	for _, d := range defs {
		if model == "" || model == "all" || modelOf(d) == model {
			views = append(views, viewCustomField(loc, d))
		}
	}
	return pipeline.JSON(http.StatusOK, map[string]any{"customFields": views}), nil
}

func (a *API) createCustomField(r *pipeline.Request) (pipeline.Response, error) {
	var in fieldDefInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	loc, err := a.pathLocation(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	d := store.CustomFieldDef{DataType: in.DataType.V, Model: "contact"}
	in.Model.to(&d.Model)
	in.apply(&d)
	if fieldKey("", d.Name) == "." {
		return pipeline.Response{}, pipeline.Unprocessable("name must have a letter or a digit")
	}
	d.Key = fieldKey(d.Model, d.Name)
	created, err := a.Store.CreateCustomFieldDef(loc, d)
	if err != nil {
		return pipeline.Response{}, taken(err)
	}
	return pipeline.JSON(http.StatusCreated, map[string]any{"customField": viewCustomField(loc, created)}), nil
}

func (a *API) getCustomField(r *pipeline.Request) (pipeline.Response, error) {
	loc, err := a.pathLocation(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	d, err := a.Store.CustomFieldDef(loc, r.Path["id"])
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, map[string]any{"customField": viewCustomField(loc, d)}), nil
}

func (a *API) updateCustomField(r *pipeline.Request) (pipeline.Response, error) {
	var in fieldDefInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	loc, err := a.pathLocation(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	if fieldKey("", in.Name.V) == "." {
		return pipeline.Response{}, pipeline.Unprocessable("name must have a letter or a digit")
	}
	d, err := a.Store.UpdateCustomFieldDef(loc, r.Path["id"], func(d *store.CustomFieldDef) error {
		in.apply(d)
		return nil
	})
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, map[string]any{"customField": viewCustomField(loc, d)}), nil
}

func (a *API) deleteCustomField(r *pipeline.Request) (pipeline.Response, error) {
	return a.deleteInLocation(r, "id", a.Store.DeleteCustomFieldDef)
}

// deleteInLocation deletes the item of the path's location that the path
// parameter param names, with remove, and answers {"succeded": true}.
func (a *API) deleteInLocation(r *pipeline.Request, param string, remove func(location, id string) error) (pipeline.Response, error) {
	loc, err := a.pathLocation(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	if err := remove(loc, r.Path[param]); err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, deleted), nil
}

// --- tags ---

type locationTagView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	LocationID string `json:"locationId"`
}

type locationTagInput struct {
	Name string `json:"name"`
}

// tagName is a tag's name as the location keeps it: as contacts' tags; a
// blank one is refused.
func (in locationTagInput) tagName() (string, error) {
	name := strings.ToLower(strings.TrimSpace(in.Name))
	if name == "" {
		return "", pipeline.Unprocessable("name should not be empty")
	}
	return name, nil
}

// decodeTagName decodes a tag body and returns its name.
func decodeTagName(r *pipeline.Request) (string, error) {
	var in locationTagInput
	if err := r.Decode(&in); err != nil {
		return "", err
	}
	return in.tagName()
}

func (a *API) listLocationTags(r *pipeline.Request) (pipeline.Response, error) {
	loc, err := a.pathLocation(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	tags, err := a.Store.LocationTags(loc)
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, map[string]any{"tags": mapSlice(tags, func(t store.LocationTag) locationTagView {
		return locationTagView{ID: t.ID, Name: t.Name, LocationID: loc}
	})}), nil
}

// tagAnswer answers one tag of loc, or err.
func tagAnswer(loc string, t store.LocationTag, err error) (pipeline.Response, error) {
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, map[string]any{"tag": locationTagView{ID: t.ID, Name: t.Name, LocationID: loc}}), nil
}

func (a *API) createLocationTag(r *pipeline.Request) (pipeline.Response, error) {
	name, err := decodeTagName(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	loc, err := a.pathLocation(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	t, err := a.Store.CreateLocationTag(loc, store.LocationTag{Name: name})
	return tagAnswer(loc, t, taken(err))
}

func (a *API) getLocationTag(r *pipeline.Request) (pipeline.Response, error) {
	loc, err := a.pathLocation(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	t, err := a.Store.LocationTag(loc, r.Path["tagId"])
	return tagAnswer(loc, t, err)
}

func (a *API) updateLocationTag(r *pipeline.Request) (pipeline.Response, error) {
	name, err := decodeTagName(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	loc, err := a.pathLocation(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	t, err := a.Store.UpdateLocationTag(loc, r.Path["tagId"], func(t *store.LocationTag) error {
		t.Name = name
		return nil
	})
	return tagAnswer(loc, t, taken(err))
}

func (a *API) deleteLocationTag(r *pipeline.Request) (pipeline.Response, error) {
	return a.deleteInLocation(r, "tagId", a.Store.DeleteLocationTag)
}
