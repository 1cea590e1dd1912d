package dashboards

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestComposeFile checks docker-compose.yml's structure, since no Docker
// engine runs here: the two services, the cxlake image's Dockerfile, bind
// mounts that exist and land where Grafana's provisioning looks, named
// volumes that are declared, the gateway listening on all interfaces of
// the compose network at the port the data source file names, and one
// password shared by the demo's gateway users and Grafana's data source.
// (cmd/cxlake's TestComposeDemoCommandParses checks the cxlake command's
// flags against the demo's.)
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	type service struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   []string          `yaml:"depends_on"`
	}
	var c struct {
		Services map[string]service `yaml:"services"`
		Volumes  map[string]any     `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	cx, gf := c.Services["cxlake"], c.Services["grafana"]
	if len(c.Services) != 2 || cx.Command == nil || gf.Image == "" {
		t.Fatalf("want services cxlake (built) and grafana (an image): %+v", c.Services)
	}

	// cxlake: built from the repository, running the demo with the gateway
	// on all interfaces.
	if cx.Build != "." {
		t.Errorf("cxlake builds from %v, want .", cx.Build)
	}
	if _, err := os.Stat("../Dockerfile"); err != nil {
		t.Errorf("cxlake's build needs ../Dockerfile: %v", err)
	}
	if cx.Command[0] != "demo" {
		t.Errorf("cxlake runs %v, want the demo", cx.Command)
	}
	flag := func(name string) string {
		i := slices.Index(cx.Command, name)
		if i < 0 || i+1 >= len(cx.Command) {
			t.Fatalf("cxlake's command has no %s", name)
		}
		return cx.Command[i+1]
	}
	host, pgPort, err := net.SplitHostPort(flag("--pg-addr"))
	if err != nil || host != "0.0.0.0" {
		t.Errorf("--pg-addr %s: the gateway must listen on 0.0.0.0 inside the compose network", flag("--pg-addr"))
	}
	if !strings.HasPrefix(cx.Environment["CXLAKE_DEMO_PASSWORD"], "${CXLAKE_DEMO_PASSWORD") {
		t.Errorf("cxlake's CXLAKE_DEMO_PASSWORD = %q; want it from the environment", cx.Environment["CXLAKE_DEMO_PASSWORD"])
	}

	// Grafana: a version the dashboards support, the data source's password
	// the demo users', and the provisioning files mounted where Grafana
	// reads them.
	image, tag, _ := strings.Cut(gf.Image, ":")
	if image != "grafana/grafana" && image != "grafana/grafana-oss" || tag == "" || tag == "latest" || !atLeast(tag, MinimumGrafana) {
		t.Errorf("grafana image %q: pin grafana/grafana at %s or later", gf.Image, MinimumGrafana)
	}
	if gf.Environment[EnvGatewayPassword] != cx.Environment["CXLAKE_DEMO_PASSWORD"] {
		t.Errorf("grafana's %s = %q, but the demo users' password is %q", EnvGatewayPassword, gf.Environment[EnvGatewayPassword], cx.Environment["CXLAKE_DEMO_PASSWORD"])
	}
	if !slices.Contains(gf.DependsOn, "cxlake") {
		t.Errorf("grafana does not depend on cxlake")
	}
	ds := provisionedDataSource(t)
	dsHost, dsPort, err := net.SplitHostPort(ds.URL)
	if err != nil || dsHost != "cxlake" || dsPort != pgPort {
		t.Errorf("the data source file points at %s; the gateway is cxlake:%s in the compose network", ds.URL, pgPort)
	}
	wantMounts := map[string]string{
		"/etc/grafana/provisioning/datasources": "dashboards/provisioning/datasources",
		"/etc/grafana/provisioning/dashboards":  "dashboards/provisioning/dashboards",
		ProvisionedDashboardsPath:               "dashboards/json",
	}
	for _, svc := range []service{cx, gf} {
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 {
				t.Errorf("volume %q: want source:target", v)
				continue
			}
			src, dst := parts[0], parts[1]
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join("..", src)); err != nil {
					t.Errorf("bind mount %q: %v", v, err)
				}
				if want, ok := wantMounts[dst]; ok && filepath.Clean(src) != want {
					t.Errorf("%s is mounted from %s, want ./%s", dst, src, want)
				}
				delete(wantMounts, dst)
				continue
			}
			if _, ok := c.Volumes[src]; !ok {
				t.Errorf("named volume %q is not declared under volumes:", src)
			}
		}
	}
	for dst, src := range wantMounts {
		t.Errorf("grafana does not mount ./%s at %s", src, dst)
	}
	// The home dashboard exists where it is mounted.
	home := gf.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	if rel, ok := strings.CutPrefix(home, ProvisionedDashboardsPath+"/"); !ok {
		t.Errorf("home dashboard %q is not under %s", home, ProvisionedDashboardsPath)
	} else if _, err := os.Stat(filepath.Join("json", rel)); err != nil {
		t.Errorf("home dashboard: %v", err)
	}
}
