package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/dashboards"
	"github.com/cxlake/cxlake/reports"
)

// envGrafanaToken may carry the Grafana token instead of --token, so that
// it stays out of shell history and process lists.
const envGrafanaToken = "GRAFANA_TOKEN"

// runGrafana is `cxlake grafana provision`.
func runGrafana(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "provision" {
		return fmt.Errorf("usage: cxlake grafana provision --url URL --token TOKEN [--gateway HOST:PORT]")
	}
	fs := newFlags("grafana provision", "grafana provision --url URL --token TOKEN [--gateway HOST:PORT] [--gateway-user NAME] [--sslmode MODE | --config FILE] [--reset-password]")
	url := fs.String("url", "", "Grafana's base URL, e.g. http://localhost:3000")
	token := fs.String("token", "", "a Grafana service account token with the Admin role (or set "+envGrafanaToken+")")
	gw := fs.String("gateway", dashboards.DefaultGateway, "the cxlake SQL gateway's host:port as the Grafana server reaches it")
	user := fs.String("gateway-user", "grafana", "the gateway login Grafana uses; it must have the grafana role")
	reset := fs.Bool("reset-password", false, "write the gateway password even if the data source is otherwise current")
	sslmode := fs.String("sslmode", "", "sslmode Grafana reaches the gateway with (disable, require, verify-ca, verify-full); default: require when --config gives the gateway TLS, else keep the data source's own (disable for a new one)")
	cfgPath := fs.String("config", "", "config file: report.targets colour the leadership dashboard's headline stats; with gateway.tls set, sslmode defaults to require")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *url == "" {
		return fmt.Errorf("--url is required: Grafana's base URL, e.g. --url http://localhost:3000")
	}
	if *token == "" {
		*token = os.Getenv(envGrafanaToken)
	}
	// The grafana user's password: its own variable, else the demo's
	// shared one (every demo user has CXLAKE_DEMO_PASSWORD when it is set).
	password := os.Getenv(dashboards.EnvGatewayPassword)
	if password == "" {
		password = os.Getenv(EnvDemoPassword)
	}
	var targets map[string]reports.Target
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		if *sslmode == "" && cfg.Gateway.TLSCertFile != "" {
			*sslmode = "require"
		}
		targets = cfg.Report.Targets
	}
	rep, err := dashboards.Provision(ctx, dashboards.ProvisionOptions{
		URL:   *url,
		Token: *token,
		DataSource: dashboards.DataSourceSettings{
			Gateway: *gw, User: *user, Password: password, SSLMode: *sslmode,
		},
		ResetPassword: *reset,
		Targets:       targets,
		Log:           slog.Default(),
	})
	if err != nil {
		return err
	}
	fmt.Print(rep)
	if !rep.Changed() {
		fmt.Println("Grafana already had the cxlake data source, folder and dashboards: nothing to change.")
	} else {
		fmt.Printf("Open %s/dashboards/f/%s/ to see the dashboards.\n", *url, dashboards.FolderUID)
	}
	return nil
}
