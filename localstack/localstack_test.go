// Package localstack holds the LocalStack path: a compose file and init
// scripts, validated statically here.
package localstack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type compose struct {
	Name     string `yaml:"name"`
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
	} `yaml:"services"`
}

func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"localstack", "postgres", "kafka"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no %s service", name)
		}
	}
	ports := 0
	for name, s := range c.Services {
		if s.Image == "" || !strings.Contains(s.Image, ":") {
			t.Errorf("%s: image %q is not pinned to a tag", name, s.Image)
		}
		for _, p := range s.Ports {
			ports++
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %q beyond loopback", name, p)
			}
		}
		for k, v := range s.Environment {
			secret := strings.Contains(k, "TOKEN") || strings.Contains(k, "PASSWORD") || strings.Contains(k, "SECRET")
			if secret && !strings.HasPrefix(v, "${") {
				t.Errorf("%s: %s is written in the file instead of taken from the environment", name, k)
			}
		}
	}
	if ports == 0 {
		t.Fatal("no published ports found: the file was not read as expected")
	}
	if tok := c.Services["localstack"].Environment["LOCALSTACK_AUTH_TOKEN"]; !strings.Contains(tok, "LOCALSTACK_AUTH_TOKEN:?") {
		t.Errorf("LOCALSTACK_AUTH_TOKEN must be required from the environment, got %q", tok)
	}
	mounted := false
	for _, v := range c.Services["localstack"].Volumes {
		mounted = mounted || strings.HasPrefix(v, "./init/ready.d:")
	}
	if !mounted {
		t.Error("the init scripts are not mounted into LocalStack")
	}
	// The functions deployed for the localstack target produce to
	// kafka:19092 from LocalStack's function containers on the compose
	// network: the broker must advertise that listener there.
	kafka := c.Services["kafka"].Environment
	if !strings.Contains(kafka["KAFKA_ADVERTISED_LISTENERS"], "INTERNAL://kafka:19092") ||
		!strings.Contains(kafka["KAFKA_LISTENERS"], "INTERNAL://:19092") {
		t.Errorf("kafka does not serve kafka:19092 on the compose network: %v", kafka)
	}
	if net := c.Services["localstack"].Environment["LAMBDA_DOCKER_NETWORK"]; net != c.Name+"_default" {
		t.Errorf("LAMBDA_DOCKER_NETWORK = %q, want the compose network %s_default", net, c.Name)
	}
}

func TestInitScripts(t *testing.T) {
	scripts, err := filepath.Glob("init/ready.d/*.sh")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no init scripts: %v", err)
	}
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("%s does not parse: %v\n%s", s, err, out)
		}
		fi, err := os.Stat(s)
		if err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
		b, _ := os.ReadFile(s)
		if !strings.Contains(string(b), "set -euo pipefail") {
			t.Errorf("%s does not stop on errors", s)
		}
	}
}
