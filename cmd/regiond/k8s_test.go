package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/region"
)

// The regions of deploy/k8s and deploy/compose.yaml.
var deployRegions = []string{"ap-south", "eu-west", "us-east"}

// secretEnv are the environment variables regiond reads (config.go); a manifest passing any
// other GEOMESH_ variable has a typo that would silently leave a secret unset.
var secretEnv = []string{envAdminToken, envClusterSecret, envGossipKeys}

// resolvedNode is one region's regiond as a deployment runs it: the settings parsed from its
// config file, arguments and environment, through the code path of `regiond --config`.
type resolvedNode struct {
	s                                            settings
	gossipPort, clusterPort, httpPort, adminPort int
}

// resolveNode parses args and env like regiond does, validates the result with region.New
// (nothing starts) and extracts the listen ports. where names the deployment file for errors.
func resolveNode(t *testing.T, where string, args []string, env map[string]string) resolvedNode {
	t.Helper()
	s, err := parse(t, args, env)
	if err != nil {
		t.Fatalf("%s: regiond %q: %v", where, args, err)
	}
	if _, err := region.New(s.node); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	// mesh.Config.Validate (run at Start) wants an IP to advertise: a DNS name fails only then.
	if a := s.node.GossipAdvertise; a != "" {
		if h, _, _ := net.SplitHostPort(a); net.ParseIP(h) == nil {
			t.Errorf("%s: gossip advertise %q: memberlist needs an IP address", where, a)
		}
	}
	r := resolvedNode{s: s, gossipPort: portOf(t, where, s.node.GossipAddr), clusterPort: s.node.ClusterPort,
		httpPort: portOf(t, where, s.front.httpAddr), adminPort: portOf(t, where, s.front.adminAddr)}
	if s.front.tokenGenerated || s.front.noGateway {
		t.Errorf("%s: want a configured admin token and a gateway, got %+v", where, s.front)
	}
	for _, p := range []int{r.gossipPort, r.clusterPort, r.httpPort, r.adminPort} {
		if p == 0 {
			t.Errorf("%s: a random port (0) cannot be published: %+v", where, r)
		}
	}
	for _, a := range []string{s.node.GossipAddr, s.front.httpAddr, s.front.adminAddr,
		net.JoinHostPort(s.node.ClusterHost, "0")} {
		if h, _, _ := net.SplitHostPort(a); h != "0.0.0.0" {
			t.Errorf("%s: listener %s: want 0.0.0.0, a container is reached on its own interfaces", where, a)
		}
	}
	return r
}

func portOf(t *testing.T, where, hostPort string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostPort)
	n, err2 := strconv.Atoi(p)
	if err != nil || err2 != nil {
		t.Fatalf("%s: address %q: want host:port", where, hostPort)
	}
	return n
}

// crossCheckNodes checks what the regions must agree on: one region each, the same symbols,
// seeds that are the other regions' gossip addresses (as dialled: DNS names), and so on.
// gossipName and routeName give the address the other regions dial for region r.
func crossCheckNodes(t *testing.T, where string, nodes map[string]resolvedNode, gossipName, routeName func(r string) string) {
	t.Helper()
	if got := slices.Sorted(maps.Keys(nodes)); !slices.Equal(got, deployRegions) {
		t.Fatalf("%s: regions %v, want %v", where, got, deployRegions)
	}
	first := nodes[deployRegions[0]]
	for _, r := range deployRegions {
		n := nodes[r]
		c := n.s.node
		if c.Region != r || c.Replicas != 3 || c.Profile == mesh.ProfileLocal {
			t.Errorf("%s %s: region %q replicas %d profile %q, want %s, 3, lan or wan", where, r, c.Region, c.Replicas, c.Profile, r)
		}
		var want []string
		for _, o := range deployRegions {
			if o != r {
				want = append(want, net.JoinHostPort(gossipName(o), strconv.Itoa(nodes[o].gossipPort)))
			}
		}
		if got := slices.Sorted(slices.Values(c.Seeds)); !slices.Equal(got, want) {
			t.Errorf("%s %s: seeds %v, want the other regions %v", where, r, got, want)
		}
		if want := net.JoinHostPort(routeName(r), strconv.Itoa(n.clusterPort)); c.ClusterAdvertise != want {
			t.Errorf("%s %s: cluster.advertise %q, want %q", where, r, c.ClusterAdvertise, want)
		}
		if !reflect.DeepEqual(c.Symbols, first.s.node.Symbols) || len(c.Symbols) == 0 {
			t.Errorf("%s %s: symbols differ from %s's", where, r, deployRegions[0])
		}
		if n.s.front.adminToken != first.s.front.adminToken || !reflect.DeepEqual(n.s.front.keys, first.s.front.keys) {
			t.Errorf("%s %s: admin token or bootstrap keys differ from %s's", where, r, deployRegions[0])
		}
		if c.ClusterSecret != first.s.node.ClusterSecret || !reflect.DeepEqual(c.GossipKeys, first.s.node.GossipKeys) {
			t.Errorf("%s %s: cluster secret or gossip keys differ from %s's", where, r, deployRegions[0])
		}
	}
	// Each region is some symbol's first choice, so a test can place an order homed anywhere.
	firsts := map[string]bool{}
	for _, sc := range first.s.node.Symbols {
		if len(sc.Preferred) != 3 {
			t.Errorf("%s: %s prefers %v, want all three regions in order", where, sc.Symbol, sc.Preferred)
		} else {
			firsts[sc.Preferred[0]] = true
		}
	}
	if len(firsts) != len(deployRegions) {
		t.Errorf("%s: first preferences cover %v, want every region", where, slices.Sorted(maps.Keys(firsts)))
	}
}

// nodeCloseMargin is what a node's Close needs after the front closed (stream leaders step
// down, nats-server shuts down): the grace period a deployment gives SIGTERM must cover it.
const nodeCloseMargin = 10 * time.Second

// checkGrace checks that a deployment waits for regiond's whole shutdown after SIGTERM (gateway
// drain, WebSocket drain, admin API close, node close) before it kills the process.
func checkGrace(t *testing.T, where string, n resolvedNode, grace time.Duration) {
	t.Helper()
	need := n.s.front.drainWait + min(n.s.front.wsDrainWindow, frontDrainMax) + frontCloseTimeout + nodeCloseMargin
	if grace < need {
		t.Errorf("%s: shutdown grace %v, regiond may need %v after SIGTERM (drain_wait %v, ws_drain_window %v)",
			where, grace, need, n.s.front.drainWait, n.s.front.wsDrainWindow)
	}
}

// checkEnvNames checks that only variables regiond reads are passed, and that every secret is.
func checkEnvNames(t *testing.T, where string, names []string, extra ...string) {
	t.Helper()
	for _, n := range names {
		if !slices.Contains(secretEnv, n) && !slices.Contains(extra, n) {
			t.Errorf("%s: environment variable %s: regiond reads only %v", where, n, secretEnv)
		}
	}
	for _, n := range secretEnv {
		if !slices.Contains(names, n) {
			t.Errorf("%s: %s is not set, and profile lan requires it", where, n)
		}
	}
}

// ---- Kubernetes ----

type k8sMeta struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace"`
	Labels    map[string]string `yaml:"labels"`
}

type k8sObject struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   k8sMeta           `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`       // ConfigMap
	StringData map[string]string `yaml:"stringData"` // Secret
	Resources  []string          `yaml:"resources"`  // Kustomization
	Spec       yaml.Node         `yaml:"spec"`
	file       string
}

func (o k8sObject) String() string {
	return fmt.Sprintf("%s %s/%s (%s)", o.Kind, o.Metadata.Namespace, o.Metadata.Name, o.file)
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type serviceSpec struct {
	ClusterIP                string            `yaml:"clusterIP"`
	PublishNotReadyAddresses bool              `yaml:"publishNotReadyAddresses"`
	Selector                 map[string]string `yaml:"selector"`
	Ports                    []struct {
		Name       string `yaml:"name"`
		Port       int    `yaml:"port"`
		TargetPort string `yaml:"targetPort"` // a name or a number
		Protocol   string `yaml:"protocol"`
	} `yaml:"ports"`
}

type pdbSpec struct {
	MaxUnavailable *int          `yaml:"maxUnavailable"`
	MinAvailable   *int          `yaml:"minAvailable"`
	Selector       labelSelector `yaml:"selector"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type containerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
	Protocol      string `yaml:"protocol"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports          []containerPort `yaml:"ports"`
	StartupProbe   *probe          `yaml:"startupProbe"`
	LivenessProbe  *probe          `yaml:"livenessProbe"`
	ReadinessProbe *probe          `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type statefulSetSpec struct {
	ServiceName string        `yaml:"serviceName"`
	Replicas    *int          `yaml:"replicas"`
	Selector    labelSelector `yaml:"selector"`
	Template    struct {
		Metadata k8sMeta `yaml:"metadata"`
		Spec     struct {
			TerminationGracePeriodSeconds *int              `yaml:"terminationGracePeriodSeconds"`
			NodeSelector                  map[string]string `yaml:"nodeSelector"`
			SecurityContext               struct {
				RunAsNonRoot *bool `yaml:"runAsNonRoot"`
				RunAsUser    *int  `yaml:"runAsUser"`
			} `yaml:"securityContext"`
			Containers []container `yaml:"containers"`
			Volumes    []struct {
				Name      string `yaml:"name"`
				ConfigMap *struct {
					Name string `yaml:"name"`
				} `yaml:"configMap"`
			} `yaml:"volumes"`
		} `yaml:"spec"`
	} `yaml:"template"`
	VolumeClaimTemplates []struct {
		Metadata k8sMeta `yaml:"metadata"`
	} `yaml:"volumeClaimTemplates"`
}

// decodeDocs decodes every YAML document of b, refusing duplicate keys and syntax errors.
func decodeDocs[T any](b []byte) ([]T, error) {
	var out []T
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var v T
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// matches reports whether selector (non-empty) selects labels.
func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// loadK8s reads every manifest of deploy/k8s.
func loadK8s(t *testing.T) (objs []k8sObject, files []string) {
	t.Helper()
	dir := filepath.Join("..", "..", "deploy", "k8s")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := decodeDocs[k8sObject](b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, o := range docs {
			o.file = filepath.Base(f)
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" && o.Kind != "Kustomization" {
				t.Errorf("%s document %d: apiVersion, kind and metadata.name are required", f, i+1)
			}
			objs = append(objs, o)
		}
	}
	return objs, files
}

// TestDeployK8sManifests parses every manifest of deploy/k8s and checks that they fit together
// and fit regiond: selectors select the pods they are meant for, every Service port and probe
// names a container port, and each region's ConfigMap, loaded with the StatefulSet's arguments
// and the Secret's variables through regiond's own config parser, validates and listens on the
// ports the pod declares.
func TestDeployK8sManifests(t *testing.T) {
	objs, files := loadK8s(t)
	byKind := map[string][]k8sObject{}
	names := map[string]bool{}
	for _, o := range objs {
		byKind[o.Kind] = append(byKind[o.Kind], o)
		id := o.Kind + "/" + o.Metadata.Namespace + "/" + o.Metadata.Name
		if names[id] {
			t.Errorf("%s is defined twice", o)
		}
		names[id] = true
		wantAPI := map[string]string{"Namespace": "v1", "Secret": "v1", "ConfigMap": "v1", "Service": "v1",
			"StatefulSet": "apps/v1", "PodDisruptionBudget": "policy/v1",
			"Kustomization": "kustomize.config.k8s.io/v1beta1"}[o.Kind]
		if wantAPI == "" || o.APIVersion != wantAPI {
			t.Errorf("%s: apiVersion %q: want one of the kinds this deployment uses, with its apiVersion", o, o.APIVersion)
		}
	}
	if len(byKind["Namespace"]) != 1 {
		t.Fatalf("want one Namespace, got %d", len(byKind["Namespace"]))
	}
	ns := byKind["Namespace"][0].Metadata.Name
	for _, o := range objs {
		if o.Kind != "Namespace" && o.Kind != "Kustomization" && o.Metadata.Namespace != ns {
			t.Errorf("%s: namespace %q, want %q", o, o.Metadata.Namespace, ns)
		}
	}
	// The kustomization lists every manifest file.
	if ks := byKind["Kustomization"]; len(ks) == 1 {
		var want []string
		for _, f := range files {
			if b := filepath.Base(f); b != "kustomization.yaml" {
				want = append(want, b)
			}
		}
		if got := slices.Sorted(slices.Values(ks[0].Resources)); !slices.Equal(got, want) {
			t.Errorf("kustomization resources %v, want every manifest %v", got, want)
		}
	} else {
		t.Errorf("want one Kustomization, got %d", len(ks))
	}

	find := func(kind, name string) *k8sObject {
		for i := range byKind[kind] {
			if byKind[kind][i].Metadata.Name == name {
				return &byKind[kind][i]
			}
		}
		return nil
	}
	services := map[string]serviceSpec{}
	for _, o := range byKind["Service"] {
		var s serviceSpec
		if err := o.Spec.Decode(&s); err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		services[o.Metadata.Name] = s
	}
	servedBy := map[string]string{} // Service -> StatefulSet whose pods it selects

	nodes := map[string]resolvedNode{}
	headless := map[string]string{} // region -> its headless Service
	setName := map[string]string{}  // region -> its StatefulSet
	var image string
	var podLabels []map[string]string
	for _, o := range byKind["StatefulSet"] {
		where := o.String()
		var ss statefulSetSpec
		if err := o.Spec.Decode(&ss); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		r := o.Metadata.Labels["geomesh.io/region"]
		pod := ss.Template.Spec
		labels := ss.Template.Metadata.Labels
		podLabels = append(podLabels, labels)
		switch {
		case r == "" || o.Metadata.Name != r || labels["geomesh.io/region"] != r:
			t.Errorf("%s: name %q, labels %v and pod labels %v: want all named after its region", where, o.Metadata.Name, o.Metadata.Labels, labels)
		case pod.NodeSelector["topology.kubernetes.io/region"] != r:
			t.Errorf("%s: nodeSelector %v: want topology.kubernetes.io/region: %s", where, pod.NodeSelector, r)
		case ss.Replicas == nil || *ss.Replicas != 1:
			t.Errorf("%s: want replicas: 1 (one node per region)", where)
		case !matches(ss.Selector.MatchLabels, labels):
			t.Errorf("%s: selector %v does not select its pod template's labels %v", where, ss.Selector.MatchLabels, labels)
		case pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
			pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser == 0:
			t.Errorf("%s: want runAsNonRoot and a non-zero runAsUser", where)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%s: %d containers, want regiond alone", where, len(pod.Containers))
		}
		c := pod.Containers[0]
		if image == "" {
			image = c.Image
		} else if c.Image != image {
			t.Errorf("%s: image %q, another region runs %q", where, c.Image, image)
		}
		if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" {
			t.Errorf("%s: want cpu and memory requests, got %v", where, c.Resources.Requests)
		}
		if len(c.Command) != 0 {
			t.Errorf("%s: command %v overrides the image's entrypoint (regiond); use args", where, c.Command)
		}

		// Environment: the Secret's keys and the downward API variables the args use.
		env := map[string]string{}
		var envNames, fieldEnv []string
		for _, e := range c.Env {
			switch {
			case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP":
				env[e.Name] = "10.1.2.3" // what the kubelet substitutes: the pod IP
				fieldEnv = append(fieldEnv, e.Name)
			case e.ValueFrom == nil:
				env[e.Name] = e.Value
				envNames = append(envNames, e.Name)
			default:
				t.Errorf("%s: env %s: unexpected valueFrom", where, e.Name)
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.SecretRef == nil {
				t.Errorf("%s: envFrom without secretRef", where)
				continue
			}
			sec := find("Secret", ef.SecretRef.Name)
			if sec == nil {
				t.Errorf("%s: envFrom secret %q does not exist", where, ef.SecretRef.Name)
				continue
			}
			for k, v := range sec.StringData {
				env[k] = v
				envNames = append(envNames, k)
			}
		}
		checkEnvNames(t, where, envNames)

		// Arguments: $(VAR) expanded as the kubelet does; --config mapped to the ConfigMap's file.
		mounts := map[string]string{} // volume -> mount path
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = m.MountPath
		}
		var cfgPath string
		args := make([]string, 0, len(c.Args))
		for _, a := range c.Args {
			a = regexp.MustCompile(`\$\(([A-Z0-9_]+)\)`).ReplaceAllStringFunc(a, func(m string) string {
				name := m[2 : len(m)-1]
				if !slices.Contains(fieldEnv, name) && !slices.Contains(envNames, name) {
					t.Errorf("%s: argument %q uses $(%s), which is not in env", where, a, name)
				}
				return env[name]
			})
			if v, ok := strings.CutPrefix(a, "--config="); ok {
				cfgPath = v
				continue
			}
			args = append(args, a)
		}
		if cfgPath == "" {
			t.Fatalf("%s: args %v: want --config=<file>", where, c.Args)
		}
		var cm *k8sObject
		for _, v := range pod.Volumes {
			if v.ConfigMap != nil && mounts[v.Name] == path.Dir(cfgPath) {
				cm = find("ConfigMap", v.ConfigMap.Name)
			}
		}
		if cm == nil || cm.Data[path.Base(cfgPath)] == "" {
			t.Fatalf("%s: --config=%s is not a key of a ConfigMap mounted at %s", where, cfgPath, path.Dir(cfgPath))
		}
		if cm.Metadata.Labels["geomesh.io/region"] != r {
			t.Errorf("%s: mounts %s, labelled for region %q", where, cm, cm.Metadata.Labels["geomesh.io/region"])
		}
		f := writeFile(t, "regiond.yaml", cm.Data[path.Base(cfgPath)])
		n := resolveNode(t, where+" with "+cm.String(), append([]string{"--config", f}, args...), env)
		nodes[r] = n
		grace := 30 * time.Second // Kubernetes' default
		if g := pod.TerminationGracePeriodSeconds; g != nil {
			grace = time.Duration(*g) * time.Second
		}
		checkGrace(t, where, n, grace)
		if want := o.Metadata.Name + "-0"; n.s.node.NodeID != want {
			t.Errorf("%s: node_id %q, want the pod's name %q", where, n.s.node.NodeID, want)
		}
		if got, want := n.s.node.GossipAdvertise, "10.1.2.3:"+strconv.Itoa(n.gossipPort); got != want {
			t.Errorf("%s: gossip advertise %q, want the pod IP and the gossip port %q", where, got, want)
		}
		dataOK := false
		for _, v := range ss.VolumeClaimTemplates {
			dataOK = dataOK || mounts[v.Metadata.Name] == n.s.node.DataDir
		}
		if !dataOK {
			t.Errorf("%s: data_dir %s is not a volumeClaimTemplate's mount", where, n.s.node.DataDir)
		}

		// Container ports: exactly the listeners of the config, named as the Services use them.
		wantPorts := []containerPort{{"admin", n.adminPort, "TCP"}, {"cluster", n.clusterPort, "TCP"},
			{"gossip-tcp", n.gossipPort, "TCP"}, {"gossip-udp", n.gossipPort, "UDP"}, {"http", n.httpPort, "TCP"}}
		got := slices.SortedFunc(slices.Values(c.Ports), func(a, b containerPort) int { return strings.Compare(a.Name, b.Name) })
		if !slices.Equal(got, wantPorts) {
			t.Errorf("%s: containerPorts %v, want the config's listeners %v", where, got, wantPorts)
		}
		resolvePort := func(p string) (containerPort, bool) {
			for _, cp := range c.Ports {
				if cp.Name == p || strconv.Itoa(cp.ContainerPort) == p {
					return cp, true
				}
			}
			return containerPort{}, false
		}
		for _, pr := range []struct {
			name string
			p    *probe
			path string
		}{{"startupProbe", c.StartupProbe, "/healthz"}, {"livenessProbe", c.LivenessProbe, "/healthz"},
			{"readinessProbe", c.ReadinessProbe, "/readyz"}} {
			if pr.p == nil || pr.p.HTTPGet == nil {
				t.Errorf("%s: want an httpGet %s on %s", where, pr.name, pr.path)
				continue
			}
			cp, ok := resolvePort(pr.p.HTTPGet.Port)
			if pr.p.HTTPGet.Path != pr.path || !ok || cp.ContainerPort != n.httpPort {
				t.Errorf("%s: %s GET %s on port %q, want %s on the gateway's port %d (http_addr)", where, pr.name,
					pr.p.HTTPGet.Path, pr.p.HTTPGet.Port, pr.path, n.httpPort)
			}
		}

		// Services selecting these pods: every port leads to a container port.
		for name, s := range services {
			if !matches(s.Selector, labels) {
				continue
			}
			if other, ok := servedBy[name]; ok {
				t.Errorf("Service %s selects the pods of both %s and %s", name, other, o.Metadata.Name)
			}
			servedBy[name] = o.Metadata.Name
			for _, sp := range s.Ports {
				cp, ok := resolvePort(sp.TargetPort)
				if sp.TargetPort == "" {
					cp, ok = resolvePort(strconv.Itoa(sp.Port))
				}
				if !ok || cp.Protocol != sp.Protocol {
					t.Errorf("Service %s port %s (%d -> %q %s) has no container port in %s", name, sp.Name, sp.Port, sp.TargetPort, sp.Protocol, where)
				} else if cp.ContainerPort != sp.Port {
					t.Errorf("Service %s port %s is %d, the container's %s is %d: keep them equal (the seeds and route URLs use one number)",
						name, sp.Name, sp.Port, cp.Name, cp.ContainerPort)
				}
			}
		}
		hs, ok := services[ss.ServiceName]
		switch {
		case !ok:
			t.Errorf("%s: serviceName %q: no such Service", where, ss.ServiceName)
		case hs.ClusterIP != "None" || !hs.PublishNotReadyAddresses:
			t.Errorf("%s: Service %s: want headless (clusterIP: None) with publishNotReadyAddresses (nodes find each other before they are ready)", where, ss.ServiceName)
		case !matches(hs.Selector, labels):
			t.Errorf("%s: its Service %s does not select its pods", where, ss.ServiceName)
		}
		headless[r], setName[r] = ss.ServiceName, o.Metadata.Name
	}
	for name := range services {
		if _, ok := servedBy[name]; !ok {
			t.Errorf("Service %s selects no StatefulSet's pods", name)
		}
	}
	podDNS := func(r string) string {
		return fmt.Sprintf("%s-0.%s.%s.svc.cluster.local", headless[r], headless[r], ns)
	}
	crossCheckNodes(t, "deploy/k8s", nodes, podDNS, podDNS)

	// Secrets: placeholders that parse (a gossip key of a valid length), keys regiond reads.
	for _, o := range byKind["Secret"] {
		checkEnvNames(t, o.String(), slices.Collect(maps.Keys(o.StringData)))
	}
	// The disruption budget covers every region and lets at most one go at a time.
	if len(byKind["PodDisruptionBudget"]) != 1 {
		t.Fatalf("want one PodDisruptionBudget, got %d", len(byKind["PodDisruptionBudget"]))
	}
	var pdb pdbSpec
	if err := byKind["PodDisruptionBudget"][0].Spec.Decode(&pdb); err != nil {
		t.Fatal(err)
	}
	if pdb.MaxUnavailable == nil || *pdb.MaxUnavailable != 1 || pdb.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget: want maxUnavailable: 1 (one region out keeps quorum), got %+v", pdb)
	}
	for _, l := range podLabels {
		if !matches(pdb.Selector.MatchLabels, l) {
			t.Errorf("PodDisruptionBudget selector %v misses pods labelled %v", pdb.Selector.MatchLabels, l)
		}
	}
}

// ---- docker compose ----

type composeService struct {
	Image           string            `yaml:"image"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	Hostname        string            `yaml:"hostname"`
	Entrypoint      []string          `yaml:"entrypoint"`
	Command         []string          `yaml:"command"`
	Environment     map[string]string `yaml:"environment"`
	Volumes         []string          `yaml:"volumes"`
	Networks        map[string]*struct {
		IPv4Address string `yaml:"ipv4_address"`
	} `yaml:"networks"`
	Ports []string `yaml:"ports"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Networks map[string]*struct {
		IPAM struct {
			Config []struct {
				Subnet string `yaml:"subnet"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
	Volumes map[string]any `yaml:"volumes"`
}

// composeVarRE is compose's interpolation with a default, the only form compose.yaml may use
// (a variable without a default would leave a hole when it is unset).
var composeVarRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(:-([^}]*))?\}`)

// interpolate substitutes ${VAR:-default} in every scalar under n (compose interpolates values,
// not comments) from env, else the default.
func interpolate(t *testing.T, n *yaml.Node, env map[string]string) {
	if n.Kind == yaml.ScalarNode {
		n.Value = composeVarRE.ReplaceAllStringFunc(n.Value, func(m string) string {
			sub := composeVarRE.FindStringSubmatch(m)
			if v, ok := env[sub[1]]; ok {
				return v
			}
			if sub[2] == "" {
				t.Errorf("compose.yaml: ${%s} has no default", sub[1])
			}
			return sub[3]
		})
	}
	for _, c := range n.Content {
		interpolate(t, c, env)
	}
}

// loadCompose reads deploy/compose.yaml with its defaults (or env) substituted.
func loadCompose(t *testing.T, env map[string]string) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	interpolate(t, &doc, env)
	var cf composeFile
	if err := doc.Decode(&cf); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return cf
}

// TestDeployComposeConfigs loads each service of deploy/compose.yaml the way its container runs
// regiond: the mounted deploy/compose/<region>.yaml, the service's command and environment,
// through regiond's own config parser. It checks the services fit together (distinct host ports
// on 127.0.0.1, gossip advertised at the static IP on the shared network, seeds and routes by
// service name, one network per region) and fit the config (published and data paths).
func TestDeployComposeConfigs(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"defaults", nil},
		{"overridden", map[string]string{"GEOMESH_SUBNET": "10.99.3", "GEOMESH_US_EAST_HTTP_PORT": "38080",
			"GEOMESH_GOSSIP_KEYS": "MDEyMzQ1Njc4OWFiY2RlZg==", "GEOMESH_IMAGE": "geomesh/regiond:test"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkCompose(t, tc.env) })
	}
}

func checkCompose(t *testing.T, env map[string]string) {
	cf := loadCompose(t, env)
	deployDir := filepath.Join("..", "..", "deploy")
	shared, ok := cf.Networks["shared"]
	if !ok || shared == nil || len(shared.IPAM.Config) != 1 {
		t.Fatalf("compose.yaml: want a network shared with one ipam subnet (the gossip addresses are static)")
	}
	_, subnet, err := net.ParseCIDR(shared.IPAM.Config[0].Subnet)
	if err != nil {
		t.Fatalf("compose.yaml: shared subnet: %v", err)
	}
	if s, ok := env["GEOMESH_SUBNET"]; ok && !strings.HasPrefix(subnet.String(), s+".") {
		t.Errorf("GEOMESH_SUBNET=%s gives the shared subnet %s", s, subnet)
	}

	nodes := map[string]resolvedNode{}
	hostPorts := map[string]string{}
	usedFiles := map[string]string{}
	usedNets := map[string]string{}
	var image string
	for r, svc := range cf.Services {
		where := "compose.yaml service " + r
		if svc.Hostname != r {
			t.Errorf("%s: hostname %q, want the service name", where, svc.Hostname)
		}
		if image == "" {
			image = svc.Image
		} else if svc.Image != image {
			t.Errorf("%s: image %q, another region runs %q", where, svc.Image, image)
		}
		if want, ok := env["GEOMESH_IMAGE"]; ok && svc.Image != want {
			t.Errorf("%s: image %q, want $GEOMESH_IMAGE %q", where, svc.Image, want)
		}
		if len(svc.Entrypoint) != 0 {
			t.Errorf("%s: entrypoint %v overrides regiond", where, svc.Entrypoint)
		}
		checkEnvNames(t, where, slices.Collect(maps.Keys(svc.Environment)))

		// Volumes: the region's config file and a named volume for the data.
		mounts := map[string]string{} // container path -> source
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 {
				t.Fatalf("%s: volume %q: want source:target", where, v)
			}
			mounts[parts[1]] = parts[0]
		}
		args := slices.Clone(svc.Command)
		i := slices.Index(args, "--config")
		if i < 0 || i+1 == len(args) {
			t.Fatalf("%s: command %v: want --config <file>", where, args)
		}
		src, ok := mounts[args[i+1]]
		if !ok || !strings.HasPrefix(src, "./") {
			t.Fatalf("%s: --config %s is not a file mounted from the repository", where, args[i+1])
		}
		args[i+1] = filepath.Join(deployDir, filepath.FromSlash(src))
		if other, ok := usedFiles[src]; ok {
			t.Errorf("%s: mounts %s, as does %s", where, src, other)
		}
		usedFiles[src] = r
		n := resolveNode(t, where+" with "+src, args, svc.Environment)
		nodes[r] = n
		grace := 10 * time.Second // compose's default
		if svc.StopGracePeriod != "" {
			if grace, err = time.ParseDuration(svc.StopGracePeriod); err != nil {
				t.Errorf("%s: stop_grace_period: %v", where, err)
			}
		}
		checkGrace(t, where, n, grace)
		if vol := mounts[n.s.node.DataDir]; vol == "" || cf.Volumes[vol] == nil && !slices.Contains(slices.Collect(maps.Keys(cf.Volumes)), vol) {
			t.Errorf("%s: data_dir %s is not a named volume's mount (%v)", where, n.s.node.DataDir, mounts)
		} else if !strings.HasPrefix(vol, r) {
			t.Errorf("%s: data volume %s, want one named after the region", where, vol)
		}

		// Networks: shared with a static IP, which is the gossip address; and the region's own.
		sn, ok := svc.Networks["shared"]
		if !ok || sn == nil || net.ParseIP(sn.IPv4Address) == nil || !subnet.Contains(net.ParseIP(sn.IPv4Address)) {
			t.Errorf("%s: want a static ipv4_address on shared (%s)", where, subnet)
		} else if want := net.JoinHostPort(sn.IPv4Address, strconv.Itoa(n.gossipPort)); n.s.node.GossipAdvertise != want {
			t.Errorf("%s: gossip advertise %q, want its shared address %s", where, n.s.node.GossipAdvertise, want)
		}
		if len(svc.Networks) != 2 {
			t.Errorf("%s: networks %v, want shared and its own", where, slices.Collect(maps.Keys(svc.Networks)))
		}
		for nw := range svc.Networks {
			if _, ok := cf.Networks[nw]; !ok {
				t.Errorf("%s: network %s is not declared", where, nw)
			}
			if nw != "shared" {
				if other, ok := usedNets[nw]; ok {
					t.Errorf("%s: network %s is also %s's: each region has its own", where, nw, other)
				}
				usedNets[nw] = r
			}
		}

		// Published ports: the gateway and the admin API, on 127.0.0.1, distinct host ports.
		var published []int
		for _, p := range svc.Ports {
			parts := strings.Split(p, ":")
			if len(parts) != 3 || parts[0] != "127.0.0.1" {
				t.Errorf("%s: port %q: want 127.0.0.1:<host>:<container>", where, p)
				continue
			}
			if other, ok := hostPorts[parts[1]]; ok {
				t.Errorf("%s: host port %s also published by %s", where, parts[1], other)
			}
			hostPorts[parts[1]] = r
			c, _ := strconv.Atoi(parts[2])
			published = append(published, c)
		}
		slices.Sort(published)
		if want := slices.Sorted(slices.Values([]int{n.httpPort, n.adminPort})); !slices.Equal(published, want) {
			t.Errorf("%s: publishes container ports %v, want the gateway's and the admin API's %v", where, published, want)
		}
	}
	if want := env["GEOMESH_US_EAST_HTTP_PORT"]; want != "" && hostPorts[want] != "us-east" {
		t.Errorf("GEOMESH_US_EAST_HTTP_PORT=%s is not us-east's host port: %v", want, hostPorts)
	}
	files, _ := filepath.Glob(filepath.Join(deployDir, "compose", "*.yaml"))
	if len(files) != len(usedFiles) {
		t.Errorf("deploy/compose holds %d files, compose.yaml mounts %v", len(files), slices.Collect(maps.Keys(usedFiles)))
	}
	self := func(r string) string { return r }
	crossCheckNodes(t, "compose.yaml", nodes, self, self)
	if len(nodes[deployRegions[0]].s.front.keys) != 1 {
		t.Errorf("compose: want one bootstrap API key (test/compose signs with it)")
	}
}
