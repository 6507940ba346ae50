package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
	yamlv3 "gopkg.in/yaml.v3"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/admin"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// defaultConfigFile is read when it exists and --config is not given.
const defaultConfigFile = "contactbridge.yaml"

// envPrefix starts the environment variables that set mock's config keys.
const envPrefix = "CONTACTBRIDGE_"

// configKeyAnnotation is the flag annotation naming the config key a flag
// sets: each flag is declared once, with its key (keyed).
const configKeyAnnotation = "contactbridge/config-key"

// mockConfig is everything the mock command is configured with: the twins'
// options and the command's own settings, as the config file spells them.
type mockConfig struct {
	mock.Options `yaml:",inline"`
	// Scenario is the fixtures scenario loaded at start, unless Empty.
	Scenario string `yaml:"scenario"`
	Empty    bool   `yaml:"empty"`
	LogLevel string `yaml:"logLevel"`
}

// defaultMockConfig is the command's defaults, the one place they are
// written: the live APIs' limits on, the default scenario.
func defaultMockConfig() mockConfig {
	lim, leaky := limits.DefaultConfig(), limits.DefaultLeakyConfig()
	return mockConfig{Options: mock.Options{
		HighLevel: mock.HighLevelOptions{Addr: "127.0.0.1:4010", Limits: &lim},
		M360:      mock.M360Options{Addr: "127.0.0.1:4011", Limits: &leaky},
		Journal:   mock.JournalOptions{Size: 1000},
		Admin:     mock.AdminOptions{MaxImportBytes: admin.DefaultMaxImportBytes},
		Webhooks:  mock.WebhookOptions{Settings: webhooks.DefaultSettings()},
	}, Scenario: "default", LogLevel: "info"}
}

// keyed declares a flag with declare (a FlagSet method, such as fs.Int)
// and records the config key it sets, naming it in the flag's help.
func keyed[T any](fs *pflag.FlagSet, declare func(name string, value T, usage string) *T, key, name string, value T, usage string) {
	declare(name, value, usage+" ["+key+"]")
	if err := fs.SetAnnotation(name, configKeyAnnotation, []string{key}); err != nil {
		panic(err) // the flag was declared the line before
	}
}

// flagSetting is posflag's callback: a keyed flag's config key and value
// ("" for the flags that set no key). Durations go as text ("10s"), as the
// config file spells them.
func flagSetting(fs *pflag.FlagSet) func(*pflag.Flag) (string, any) {
	return func(f *pflag.Flag) (string, any) {
		key := f.Annotations[configKeyAnnotation]
		if len(key) != 1 {
			return "", nil
		}
		if f.Value.Type() == "duration" {
			return key[0], f.Value.String()
		}
		return key[0], posflag.FlagVal(fs, f)
	}
}

// loadMockConfig merges, by precedence, the flags that were set, the
// CONTACTBRIDGE_* environment, the config file and the defaults.
func loadMockConfig(flags *pflag.FlagSet, configPath string, environ func() []string) (mockConfig, error) {
	cfg := defaultMockConfig()
	k := koanf.New(".")
	if err := loadConfigFile(k, configPath); err != nil {
		return cfg, err
	}
	k.Delete(syncSection) // the sync's commands read it
	keys := settingKeys()
	if err := k.Load(env.Provider(".", env.Opt{Prefix: envPrefix, EnvironFunc: environ,
		TransformFunc: keys.fromEnv}), nil); err != nil {
		return cfg, fmt.Errorf("environment: %w", err)
	}
	if err := k.Load(posflag.ProviderWithFlag(flags, ".", k, flagSetting(flags)), nil); err != nil {
		return cfg, fmt.Errorf("flags: %w", err)
	}
	merged, err := yamlv3.Marshal(k.Raw())
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if err := decodeStrict(merged, &cfg); err != nil {
		return cfg, badSetting(errors.New(plainYAMLError(err, "settings")))
	}
	if cfg.HighLevel.Limits == nil {
		lim := limits.DefaultConfig()
		cfg.HighLevel.Limits = &lim
	}
	if cfg.M360.Limits == nil {
		leaky := limits.DefaultLeakyConfig()
		cfg.M360.Limits = &leaky
	}
	return cfg, nil
}

// configFile is the whole config file: mock's settings and the sync's
// section.
type configFile struct {
	mockConfig `yaml:",inline"`
	Sync       syncConfig `yaml:"sync"`
}

// loadConfigFile loads the config file into k: configPath, or
// ./contactbridge.yaml when it exists. Every setting of the file is
// checked, mock's and the sync's.
func loadConfigFile(k *koanf.Koanf, configPath string) error {
	path, explicit := configPath, configPath != ""
	if !explicit {
		path = defaultConfigFile
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := checkConfigFile(path, data); err != nil {
			return err
		}
		if err := k.Load(rawbytes.Provider(data), yaml.Parser()); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
	case explicit || !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// checkConfigFile refuses a file with settings that do not exist or do not
// fit, in the user's words, naming the file and the line.
func checkConfigFile(path string, data []byte) error {
	var scratch configFile
	if err := decodeStrict(data, &scratch); err != nil {
		return badSetting(errors.New(plainYAMLError(err, path)))
	}
	return nil
}

// badSetting marks a setting that does not exist or does not fit as a
// usage error of the mock command: exit status 2, with a --help hint.
func badSetting(err error) error { return &usageError{command: "contactbridge mock", err: err} }

func decodeStrict[T any](data []byte, into *T) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

var (
	yamlUnknown  = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)
	yamlMismatch = regexp.MustCompile("^line (\\d+): cannot unmarshal !!\\w+ `([^`]*)` into (\\S+)$")
)

// plainYAMLError says what the YAML decoder reports without Go's type names.
func plainYAMLError(err error, source string) string {
	var te *yamlv3.TypeError
	if !errors.As(err, &te) {
		return fmt.Sprintf("%s: %v", source, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		if m := yamlUnknown.FindStringSubmatch(e); m != nil {
			msgs = append(msgs, fmt.Sprintf("unknown setting %q in %s (line %s)", m[2], source, m[1]))
		} else if m := yamlMismatch.FindStringSubmatch(e); m != nil {
			msgs = append(msgs, fmt.Sprintf("%s line %s: %q is not %s", source, m[1], m[2], valueKind(m[3])))
		} else {
			msgs = append(msgs, source+": "+e)
		}
	}
	return strings.Join(msgs, "; ")
}

// valueKind names what a Go type holds, for a user.
func valueKind(goType string) string {
	switch {
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "a mapping of settings"
	}
	return "a " + goType
}

// configKeys maps each config key's environment spelling (see envSpelling)
// to the key.
type configKeys map[string]string

// settingKeys lists the config keys, from mockConfig's yaml tags.
func settingKeys() configKeys {
	keys := configKeys{}
	keys.add(reflect.TypeFor[mockConfig](), "")
	return keys
}

func (keys configKeys) add(t reflect.Type, prefix string) {
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if strings.Contains(opts, "inline") {
			keys.add(ft, prefix)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		key := prefix + name
		keys[envSpelling(key, ".")] = key
		if ft.Kind() == reflect.Struct {
			keys.add(ft, key+".")
		}
	}
}

// envSpelling is a key with its levels split at sep, each level lower case
// without underscores, joined by "__".
func envSpelling(key, sep string) string {
	levels := strings.Split(key, sep)
	for i, l := range levels {
		levels[i] = strings.ToLower(strings.ReplaceAll(l, "_", ""))
	}
	return strings.Join(levels, "__")
}

// fromEnv is the env provider's transform: CONTACTBRIDGE_M360__ADDR sets
// m360.addr, CONTACTBRIDGE_LOG_LEVEL logLevel (levels split by "__",
// underscores within a level ignored, any case); the value is read as YAML.
// Variables that name no key (the fixtures command's) are left alone.
func (keys configKeys) fromEnv(name, value string) (string, any) {
	key, ok := keys[envSpelling(strings.TrimPrefix(name, envPrefix), "__")]
	if !ok {
		return "", nil
	}
	var v any
	if err := yamlv3.Unmarshal([]byte(value), &v); err != nil || v == nil {
		return key, value
	}
	return key, v
}
