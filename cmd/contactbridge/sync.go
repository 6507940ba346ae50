package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/receiver"
	syncrun "github.com/contactbridge/contactbridge/sync/run"
)

// defaultSyncDB is the sync's database file by default.
const defaultSyncDB = "contactbridge-sync.db"

// stopWait bounds a graceful stop: running jobs get this long to finish.
const stopWait = 10 * time.Second

func newSyncCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "The sync between a HighLevel location and a Marketing 360 account",
	}
	cmd.AddCommand(newSyncRunCmd(stdout, stderr))
	return cmd
}

func newSyncRunCmd(stdout, stderr io.Writer) *cobra.Command {
	cfg := syncrun.Config{Flows: engine.DefaultFlows()}
	var keyFile, level string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Receive webhooks and work the sync's jobs until stopped",
		Long: `Runs the webhook receiver (HighLevel at ` + receiver.PathHighLevel + `, Marketing 360 at
` + receiver.PathM360 + `) and the workers of the flows on the sync's database, until
SIGINT or SIGTERM; then it stops taking webhooks, lets running jobs finish for
up to ` + stopWait.String() + ` and exits. No job is lost: each waits in the database
until it completes, and a job cut short is worked again at the next start.

Flows: 1. a HighLevel contact, created or updated, makes or updates its
Marketing 360 contact and a "Follow up: <contact>" task; 2. once per contact
ever, the onboarding tasks and a welcome note in Marketing 360.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lv, err := logLevel(level)
			if err != nil {
				return usageErrorf(cmd, "%w", err)
			}
			if !isLoopback(cfg.Listen) {
				return usageErrorf(cmd, "--listen %s: the receiver binds to loopback only; put a proxy in front of it", cfg.Listen)
			}
			if keyFile != "" {
				pem, err := os.ReadFile(keyFile)
				if err != nil {
					return fmt.Errorf("--hl-webhook-key: %w", err)
				}
				cfg.HighLevel.WebhookKey = string(pem)
			}
			cfg.Logger = newLogger(cmd, stderr, lv)
			return runSync(cmd.Context(), cfg, func(s *syncrun.Sync) error {
				_, err := fmt.Fprintf(stdout, "sync receiving webhooks at %s%s and %s%s\n", s.URL(), receiver.PathHighLevel, s.URL(), receiver.PathM360)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DB, "db", defaultSyncDB, "the sync's database file (SQLite)")
	f.StringVar(&cfg.Listen, "listen", syncrun.DefaultListen, "the webhook receiver's address (loopback)")
	f.StringVar(&cfg.HighLevel.BaseURL, "hl-base-url", "", "HighLevel API base URL (default the live API)")
	f.StringVar(&cfg.HighLevel.Token, "hl-token", "", "HighLevel Private Integration Token of the location")
	f.StringVar(&cfg.HighLevel.Location, "hl-location", "", "HighLevel location id")
	f.StringVar(&keyFile, "hl-webhook-key", "", "PEM file of HighLevel's Ed25519 webhook public key (unset: HighLevel webhooks are refused)")
	f.StringVar(&cfg.M360.BaseURL, "m360-base-url", "", "Marketing 360 API base URL, without /v1 (default the live API)")
	f.StringVar(&cfg.M360.ClientID, "m360-client-id", "", "Marketing 360 API key: client id")
	f.StringVar(&cfg.M360.ClientSecret, "m360-client-secret", "", "Marketing 360 API key: client secret")
	f.StringSliceVar(&cfg.M360.WebhookSecrets, "m360-webhook-secret", nil, "secret of a Marketing 360 webhook subscription (repeatable)")
	f.BoolVar(&cfg.Flows.Contacts, "flow-contacts", true, "flow 1: HighLevel contacts to Marketing 360 with a follow-up task")
	f.BoolVar(&cfg.Flows.Onboarding, "flow-onboarding", true, "flow 2: onboarding tasks and a welcome note, once per contact")
	f.StringVar(&cfg.Flows.FollowUp, "follow-up", engine.DefaultFollowUp, "the follow-up task's title; {contact} is the contact's name")
	f.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	for _, name := range []string{"hl-token", "hl-location", "m360-client-id", "m360-client-secret"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// runSync runs the sync until ctx ends, telling started when it is up
// (an error from it stops the sync at once), then stops it gracefully.
func runSync(ctx context.Context, cfg syncrun.Config, started func(*syncrun.Sync) error) error {
	s, err := syncrun.Start(ctx, cfg)
	if err != nil {
		return err
	}
	err = started(s)
	if err == nil {
		<-ctx.Done()
		cfg.Logger.Info("stopping the sync")
	}
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopWait)
	defer cancel()
	return errors.Join(err, s.Close(stop))
}
