package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/contactbridge/contactbridge/sync/connect"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// defaultCredentials is where connect stores what it gets.
const defaultCredentials = "contactbridge-credentials.json"

func newConnectCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "Store API credentials: the HighLevel OAuth install on a location, a checked Marketing 360 API key",
	}
	cmd.AddCommand(newConnectHighLevelCmd(stdout), newConnectM360Cmd(stdout))
	return cmd
}

func newConnectHighLevelCmd(stdout io.Writer) *cobra.Command {
	var opts connect.HighLevelOptions
	var store string
	cmd := &cobra.Command{
		Use:   "highlevel",
		Short: "Install the OAuth app on a location: consent in a browser, then the tokens are stored",
		Long: `Prints the consent (chooselocation) URL, receives the code on the app's loopback
redirect URI, exchanges it for tokens and stores them (file mode 0600). The sync
refreshes them from there. Against a twin, --base-url is the twin's URL.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Store = &transport.FileStore{Path: store}
			_, err := connect.HighLevel(cmd.Context(), opts, stdout)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.APIBase, "base-url", "", "API and token endpoint base URL (default the live API)")
	f.StringVar(&opts.ConsentBase, "consent-url", "", "consent page base URL (default the live marketplace, or --base-url)")
	f.StringVar(&opts.ClientID, "client-id", "", "the OAuth app's client id")
	f.StringVar(&opts.ClientSecret, "client-secret", "", "the OAuth app's client secret")
	f.StringVar(&opts.RedirectURI, "redirect-uri", connect.DefaultRedirectURI, "the app's loopback redirect URI")
	f.StringSliceVar(&opts.Scopes, "scope", nil, "scopes to ask for (default all the app's)")
	f.DurationVar(&opts.Wait, "wait", connect.DefaultWait, "how long to wait for the callback")
	f.StringVar(&store, "store", defaultCredentials, "credentials file")
	_ = cmd.MarkFlagRequired("client-id")
	_ = cmd.MarkFlagRequired("client-secret")
	return cmd
}

func newConnectM360Cmd(stdout io.Writer) *cobra.Command {
	var opts connect.M360Options
	var store string
	cmd := &cobra.Command{
		Use:   "m360",
		Short: "Check a Marketing 360 API key against /v1/account and store it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Store = &transport.FileStore{Path: store}
			_, err := connect.Marketing360(cmd.Context(), opts, stdout)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.BaseURL, "base-url", "", "API base URL, without /v1 (default the live API)")
	f.StringVar(&opts.ClientID, "client-id", "", "the API key's client id")
	f.StringVar(&opts.ClientSecret, "client-secret", "", "the API key's client secret")
	f.StringVar(&store, "store", defaultCredentials, "credentials file")
	_ = cmd.MarkFlagRequired("client-id")
	_ = cmd.MarkFlagRequired("client-secret")
	return cmd
}
