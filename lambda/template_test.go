package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const templatePath = "../template.yaml"

// cfnLint finds cfn-lint (with the SAM translator): it skips the test on a
// machine without it, and fails it in CI (NETCOST_REQUIRE_ROOT=1).
func cfnLint(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"cfn-lint", "/root/.pyenv/shims/cfn-lint"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
		t.Fatal("cfn-lint is not installed; CI needs it (pip install cfn-lint)")
	}
	t.Skip("cfn-lint is not installed (pip install cfn-lint)")
	return ""
}

// The template passes cfn-lint, and cfn-lint catches broken copies of it:
// the lint is not a test that cannot fail.
func TestTemplateLints(t *testing.T) {
	lint := cfnLint(t)
	if out, err := exec.Command(lint, templatePath).CombinedOutput(); err != nil {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
	orig, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mutants := []struct{ name, from, to, rule string }{
		{"bad-runtime", "Runtime: provided.al2023", "Runtime: provided.al2099", "E3030"},
		{"no-handler", "      Handler: bootstrap\n", "", "E0001"},
		{"bad-getatt", "!GetAtt FlowLogGroup.Arn", "!GetAtt FlowLogGroup.Nope", "E1010"},
		{"bad-arch", "Architectures: [arm64]", "Architectures: [sparc]", "E3030"},
		{"bad-ref", "!Ref SlackWebhookSecretArn", "!Ref SlackWebhookSecret", "E1020"},
	}
	var files []string
	for _, m := range mutants {
		if !strings.Contains(string(orig), m.from) {
			t.Fatalf("%s: template.yaml has no %q to break", m.name, m.from)
		}
		p := filepath.Join(dir, m.name+".yaml")
		if err := os.WriteFile(p, []byte(strings.Replace(string(orig), m.from, m.to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	out, err := exec.Command(lint, files...).CombinedOutput()
	if err == nil {
		t.Fatalf("cfn-lint passed broken templates:\n%s", out)
	}
	// Findings come as "RULE message\nFILE:LINE:COL".
	found := map[string][]string{}
	lines := strings.Split(string(out), "\n")
	for i := 1; i < len(lines); i++ {
		if f, _, ok := strings.Cut(lines[i], ":"); ok && strings.HasSuffix(f, ".yaml") {
			rule, _, _ := strings.Cut(lines[i-1], " ")
			found[filepath.Base(f)] = append(found[filepath.Base(f)], rule)
		}
	}
	for _, m := range mutants {
		if !slices.Contains(found[m.name+".yaml"], m.rule) {
			t.Errorf("%s: cfn-lint reported %v, want %s\n%s", m.name, found[m.name+".yaml"], m.rule, out)
		}
	}
}

// node is a YAML node of the template, CloudFormation's short tags (!Ref,
// !GetAtt, !Sub, !If) kept as tags.
type node struct{ *yaml.Node }

func (n node) get(path ...string) node {
	cur := n.Node
	for _, k := range path {
		if cur == nil || cur.Kind != yaml.MappingNode {
			return node{}
		}
		var next *yaml.Node
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == k {
				next = cur.Content[i+1]
			}
		}
		cur = next
	}
	return node{cur}
}

func (n node) str() string {
	if n.Node == nil {
		return ""
	}
	if n.Kind == yaml.SequenceNode {
		var s []string
		for _, c := range n.Content {
			s = append(s, node{c}.str())
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") { // a CloudFormation tag, not a YAML type
		return n.Tag + " " + n.Value
	}
	return n.Value
}

func loadTemplate(t *testing.T) node {
	t.Helper()
	b, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return node{doc.Content[0]}
}

// What cfn-lint cannot know: the template agrees with the function and the
// agents, and grants no more than the function uses.
func TestTemplateContract(t *testing.T) {
	tpl := loadTemplate(t)
	fn := tpl.get("Resources", "ReportFunction")
	props := fn.get("Properties")
	for path, want := range map[string]string{
		"Type":                                        "AWS::Serverless::Function",
		"Metadata/BuildMethod":                        "makefile",
		"Properties/Runtime":                          "provided.al2023",
		"Properties/Handler":                          "bootstrap",
		"Properties/Architectures":                    "[arm64]",
		"Properties/Events/Daily/Type":                "Schedule",
		"Properties/Events/Daily/Properties/Schedule": "!Ref ScheduleExpression",
	} {
		if got := fn.get(strings.Split(path, "/")...).str(); got != want {
			t.Errorf("ReportFunction %s = %q, want %q", path, got, want)
		}
	}
	if got := tpl.get("Parameters", "ScheduleExpression", "Default").str(); got != "cron(0 8 * * ? *)" {
		t.Errorf("ScheduleExpression default %q", got)
	}
	lg := tpl.get("Resources", "FlowLogGroup")
	if lg.get("Type").str() != "AWS::Logs::LogGroup" || lg.get("Properties", "RetentionInDays").str() != "!Ref LogRetentionDays" ||
		tpl.get("Parameters", "LogGroupName", "Default").str() != "/netcost/flows" {
		t.Errorf("FlowLogGroup: want the agents' /netcost/flows with a retention parameter")
	}

	// Every variable the template sets is one the function reads.
	src, err := os.ReadFile("handler.go")
	if err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`getenv\("([A-Z_]+)"\)`).FindAllStringSubmatch(string(src), -1)
	vars := props.get("Environment", "Variables")
	for i := 0; i < len(vars.Content); i += 2 {
		k := vars.Content[i].Value
		if !slices.ContainsFunc(read, func(m []string) bool { return m[1] == k }) && k != "NETCOST_LOG_GROUP" {
			t.Errorf("the template sets %s, which the function does not read", k)
		}
	}

	// Least privilege: each statement's actions and resources.
	stmts := props.get("Policies").Content[0]
	want := map[string]string{
		"ReadFlowRecords":        "[logs:StartQuery logs:FilterLogEvents] !GetAtt FlowLogGroup.Arn",
		"FollowInsightsQueries":  "[logs:GetQueryResults logs:StopQuery] *",
		"ReadWebhookSecret":      "secretsmanager:GetSecretValue !Ref SlackWebhookSecretArn",
		"QueryFlowMonitor":       "[networkflowmonitor:GetMonitor networkflowmonitor:StartQueryMonitorTopContributors networkflowmonitor:GetQueryStatusMonitorTopContributors networkflowmonitor:GetQueryResultsMonitorTopContributors networkflowmonitor:StopQueryMonitorTopContributors]",
		"FindFlowMonitor":        "networkflowmonitor:ListMonitors *",
		"ListCostAndUsageReport": "s3:ListBucket !Sub arn:${AWS::Partition}:s3:::${CostAndUsageReportBucket}",
		"ReadCostAndUsageReport": "s3:GetObject !Sub arn:${AWS::Partition}:s3:::${CostAndUsageReportBucket}/*",
		"QueryCostAndUsageReport": "[athena:StartQueryExecution athena:GetQueryExecution athena:GetQueryResults " +
			"athena:StopQueryExecution] !Sub arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/${AthenaWorkgroup}",
		"ReadCostAndUsageReportTable": "[glue:GetDatabase glue:GetTable glue:GetPartitions] " +
			"[!Sub arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog " +
			"[arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:database/${Database} ] " +
			"[arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/${Database}/${Table} ]]",
		"WriteAthenaResults": "[s3:GetBucketLocation s3:GetObject s3:PutObject s3:AbortMultipartUpload] " +
			"[!Sub arn:${AWS::Partition}:s3:::${AthenaResultsBucket} !Sub arn:${AWS::Partition}:s3:::${AthenaResultsBucket}/netcost/*]",
	}
	seen := 0
	for _, s := range (node{stmts}).get("Statement").Content {
		st := node{s}
		if s.Tag == "!If" { // [condition, statement, AWS::NoValue]
			st = node{s.Content[1]}
		}
		sid := st.get("Sid").str()
		got := st.get("Action").str()
		if r := st.get("Resource"); r.Tag != "!If" {
			got += " " + r.str()
		}
		if want[sid] != got || st.get("Effect").str() != "Allow" {
			t.Errorf("statement %s: %q, want %q", sid, got, want[sid])
		}
		// Athena writes a query's results as its caller: only under netcost/.
		put := sid == "WriteAthenaResults" && strings.Contains(got, "/netcost/*")
		if strings.Contains(got, ":*") || strings.Contains(got, ":Put") && !put || strings.Contains(got, ":Delete") {
			t.Errorf("statement %s grants too much: %s", sid, got)
		}
		seen++
	}
	if seen != len(want) {
		t.Errorf("%d policy statements, want %d", seen, len(want))
	}

	// The dashboard body is JSON once substituted, over the agents' EMF
	// metrics: namespace netcost, metric bytes, dimensions cluster and category.
	body := tpl.get("Resources", "Dashboard", "Properties", "DashboardBody")
	if body.Tag != "!Sub" {
		t.Fatalf("DashboardBody tag %q, want !Sub", body.Tag)
	}
	sub := strings.NewReplacer("${ClusterName}", "prod", "${AWS::Region}", "us-east-1", "${FlowLogGroup}", "/netcost/flows",
		"${ReportFunction}", "netcost-ReportFunction-abc").Replace(body.Value)
	if strings.Contains(sub, "${") {
		t.Errorf("DashboardBody has a substitution the test does not know: %s", sub[strings.Index(sub, "${"):][:30])
	}
	var dash struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Metrics [][]any `json:"metrics"`
				Query   string  `json:"query"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(sub), &dash); err != nil {
		t.Fatalf("DashboardBody is not JSON: %v", err)
	}
	var searches, queries int
	for _, w := range dash.Widgets {
		for _, m := range w.Properties.Metrics {
			if e, ok := m[0].(map[string]any); ok {
				expr, _ := e["expression"].(string)
				if !strings.Contains(expr, `SEARCH('{netcost,category,cluster`) || !strings.Contains(expr, `MetricName="bytes" cluster="prod"`) {
					t.Errorf("metric expression %q: want the netcost bytes metric of the cluster", expr)
				}
				searches++
			}
		}
		if w.Type == "log" {
			if !strings.HasPrefix(w.Properties.Query, "SOURCE '/netcost/flows' | filter cluster = 'prod'") {
				t.Errorf("log widget query %q", w.Properties.Query)
			}
			queries++
		}
	}
	if searches != 2 || queries != 2 {
		t.Errorf("%d metric searches and %d log queries, want 2 and 2", searches, queries)
	}
	// A tripwire on the agents' EMF encoder (read as text: lambda never
	// imports agent): the dashboard's namespace, metric and dimensions.
	emf, err := os.ReadFile("../agent/internal/sink/cloudwatch_emf.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`DefaultNamespace = "netcost"`, `"Metrics":[{"Name":"bytes"`, `"cluster",`, `"category"`, `"category","local_namespace"`} {
		if !strings.Contains(string(emf), want) {
			t.Errorf("the agents' EMF encoder no longer has %s: update the dashboard in template.yaml", want)
		}
	}
}

// `sam build` runs `make build-ReportFunction` with ARTIFACTS_DIR set: it
// must leave a static linux/arm64 executable named bootstrap there.
func TestMakeBuildReportFunction(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
			t.Fatal("make is not installed; CI needs it")
		}
		t.Skip("make is not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "build-ReportFunction", "ARTIFACTS_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-ReportFunction: %v\n%s", err, out)
	}
	f, err := elf.Open(filepath.Join(dir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC {
		t.Errorf("bootstrap is %v %v, want an arm64 executable", f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("bootstrap is dynamically linked; provided.al2023 wants CGO_ENABLED=0")
		}
	}
}
