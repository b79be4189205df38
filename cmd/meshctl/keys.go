package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// keyDoc is an API key as the admin API shows it (secret only in the answer to create).
type keyDoc struct {
	APIKey      string   `json:"api_key"`
	Secret      string   `json:"secret,omitempty"`
	Account     uint64   `json:"account"`
	Permissions []string `json:"permissions"`
	CreatedAt   string   `json:"created_at"`
}

func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "create, list and delete API keys (valid in every region at once)",
		Args:  exactArgs(),
	}
	cmd.AddCommand(a.keysCreateCmd(), a.keysListCmd(), a.keysDeleteCmd())
	return cmd
}

func (a *app) keysCreateCmd() *cobra.Command {
	var account uint64
	var perms []string
	cmd := &cobra.Command{
		Use:   "create --account N [--permissions read,trade,admin]",
		Short: "create an API key and print its secret (shown only this once)",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if account == 0 || account > 1<<53-1 {
				return mark(errUsage, errors.New("--account: want a number from 1 to 2^53-1"))
			}
			for _, p := range perms {
				switch strings.ToLower(strings.TrimSpace(p)) {
				case "read", "trade", "admin":
				default:
					return mark(errUsage, fmt.Errorf("--permissions %q: want read, trade or admin", p))
				}
			}
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			body := map[string]any{"account": account}
			if len(perms) > 0 {
				body["permissions"] = perms
			}
			raw, err := a.api.do(ctx, "POST", "/keys", body)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printRaw(raw)
			}
			var k keyDoc
			if err := json.Unmarshal(raw, &k); err != nil {
				return mark(errFailed, fmt.Errorf("decode answer: %v", err))
			}
			fmt.Fprintf(a.stderr, "created a key for account %d (%s); store the secret now, it is not shown again\n",
				k.Account, strings.Join(k.Permissions, ","))
			fmt.Fprintf(a.stdout, "api_key: %s\nsecret:  %s\n", k.APIKey, k.Secret)
			return nil
		},
	}
	cmd.Flags().Uint64Var(&account, "account", 0, "account the key trades for (required)")
	cmd.Flags().StringSliceVar(&perms, "permissions", nil, "read, trade and/or admin (default read,trade)")
	return cmd
}

func (a *app) keysListCmd() *cobra.Command {
	var account uint64
	cmd := &cobra.Command{
		Use:   "list [--account N]",
		Short: "list API keys (never their secrets)",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			path := "/keys"
			if account != 0 {
				path += "?account=" + url.QueryEscape(strconv.FormatUint(account, 10))
			}
			var doc struct {
				Keys []keyDoc `json:"keys"`
			}
			raw, err := a.api.getJSON(ctx, path, &doc)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printRaw(raw)
			}
			tw := a.table()
			fmt.Fprintln(tw, "ACCOUNT\tAPI KEY\tPERMISSIONS\tCREATED")
			for _, k := range doc.Keys {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", k.Account, k.APIKey, strings.Join(k.Permissions, ","), k.CreatedAt)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().Uint64Var(&account, "account", 0, "only this account's keys")
	return cmd
}

func (a *app) keysDeleteCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete API_KEY [--yes]",
		Short: "revoke an API key in every region",
		Args:  exactArgs("API_KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := strings.TrimSpace(args[0])
			if !yes {
				if err := a.confirm("revoke API key " + key[:min(8, len(key))] + "…"); err != nil {
					return err
				}
			}
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			raw, err := a.api.do(ctx, "DELETE", "/keys/"+url.PathEscape(key), nil)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printRaw(raw)
			}
			fmt.Fprintf(a.stdout, "key %s deleted\n", key)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
