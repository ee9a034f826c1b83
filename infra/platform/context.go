package platform

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/shopstream/shopstream/infra/network"
	"github.com/shopstream/shopstream/infra/streaming"
)

// Context parameters of an existing Kafka cluster (`cdk deploy -c NAME=VALUE`
// or cdk.json). Lists are comma-separated strings or JSON arrays.
const (
	CtxClusterARN             = "shopstream:clusterArn"
	CtxVpcID                  = "shopstream:vpcId"
	CtxSubnetIDs              = "shopstream:subnetIds"
	CtxAvailabilityZones      = "shopstream:availabilityZones"
	CtxClusterSecurityGroupID = "shopstream:clusterSecurityGroupId"
	CtxClientSecurityGroupID  = "shopstream:clientSecurityGroupId"
	CtxClusterAuth            = "shopstream:clusterAuth"
	CtxCreateTopics           = "shopstream:createTopics"
	CtxReplicationFactor      = "shopstream:topicReplicationFactor"
)

// ExistingCluster is an existing MSK cluster and the VPC the functions
// reach it from.
type ExistingCluster struct {
	Kafka   streaming.Existing
	Network network.Existing
}

var (
	vpcID    = regexp.MustCompile(`^vpc-[0-9a-f]{8}([0-9a-f]{9})?$`)
	subnetID = regexp.MustCompile(`^subnet-[0-9a-f]{8}([0-9a-f]{9})?$`)
	groupID  = regexp.MustCompile(`^sg-[0-9a-f]{8}([0-9a-f]{9})?$`)
	// A zone name: the region and one letter (eu-west-1a), or a Local
	// Zone's suffix (us-west-2-lax-1a).
	zoneSuffix = regexp.MustCompile(`^([a-z]|-[a-z]+-[0-9][a-z])$`)
)

// ExistingClusterFromContext reads the existing-cluster context through get
// (a context lookup: nil when absent). It returns nil when no cluster ARN
// is given and no other parameter of it either, and otherwise the cluster
// or every reason the parameters are unusable, offline: nothing is looked
// up.
func ExistingClusterFromContext(get func(name string) any) (*ExistingCluster, error) {
	r := &reader{get: get}
	arn := r.str(CtxClusterARN)
	e := &ExistingCluster{
		Kafka: streaming.Existing{
			ClusterARN:             arn,
			Auth:                   strings.ToLower(r.str(CtxClusterAuth)),
			ClusterSecurityGroupID: r.str(CtxClusterSecurityGroupID),
			ClientSecurityGroupID:  r.str(CtxClientSecurityGroupID),
			CreateTopics:           r.boolean(CtxCreateTopics),
			ReplicationFactor:      r.count(CtxReplicationFactor),
		},
		Network: network.Existing{
			VpcID:             r.str(CtxVpcID),
			SubnetIDs:         r.list(CtxSubnetIDs),
			AvailabilityZones: r.list(CtxAvailabilityZones),
		},
	}
	if arn == "" {
		if len(r.given) == 0 && len(r.errs) == 0 {
			return nil, nil
		}
		for _, name := range r.given {
			r.errs = append(r.errs, fmt.Errorf("context %s needs %s: it describes an existing Kafka cluster (without one the stack creates its own cluster and VPC)", name, CtxClusterARN))
		}
		return nil, errors.Join(r.errs...)
	}
	if err := e.validate(); err != nil {
		r.errs = append(r.errs, err)
	}
	if err := errors.Join(r.errs...); err != nil {
		return nil, err
	}
	return e, nil
}

// validate checks the parameters against each other and against the forms
// of AWS ids.
func (e *ExistingCluster) validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	arn, err := streaming.ParseClusterARN(e.Kafka.ClusterARN)
	if err != nil {
		errs = append(errs, fmt.Errorf("context %s: %w", CtxClusterARN, err))
	}
	switch e.Kafka.Auth {
	case "":
		e.Kafka.Auth = streaming.AuthIAM
	case streaming.AuthIAM, streaming.AuthNone:
	default:
		add("context %s is %q: want %q (SASL/IAM) or %q (unauthenticated plaintext); the functions' Kafka client speaks neither SASL/SCRAM nor mutual TLS",
			CtxClusterAuth, e.Kafka.Auth, streaming.AuthIAM, streaming.AuthNone)
	}
	n := &e.Network
	switch {
	case n.VpcID == "":
		add("context %s needs %s: the functions run in the cluster's VPC", CtxClusterARN, CtxVpcID)
	case !vpcID.MatchString(n.VpcID):
		add("context %s is %q: want a VPC id (vpc-0123456789abcdef0)", CtxVpcID, n.VpcID)
	}
	if len(n.SubnetIDs) == 0 {
		add("context %s needs %s: the private subnets of the cluster's VPC the functions run in", CtxClusterARN, CtxSubnetIDs)
	}
	seen := map[string]bool{}
	for _, s := range n.SubnetIDs {
		if !subnetID.MatchString(s) {
			add("context %s: %q is not a subnet id (subnet-0123456789abcdef0)", CtxSubnetIDs, s)
		}
		if seen[s] {
			add("context %s: subnet %s is given twice", CtxSubnetIDs, s)
		}
		seen[s] = true
	}
	if len(n.AvailabilityZones) == 0 {
		add("context %s needs %s: the subnets' availability zones, in the same order (synth looks nothing up)", CtxClusterARN, CtxAvailabilityZones)
	}
	for _, z := range n.AvailabilityZones {
		if arn.Region != "" && (!strings.HasPrefix(z, arn.Region) || !zoneSuffix.MatchString(strings.TrimPrefix(z, arn.Region))) {
			add("context %s: %q is not an availability zone of the cluster's region %s (want names such as %sa)", CtxAvailabilityZones, z, arn.Region, arn.Region)
		}
	}
	if len(n.SubnetIDs) > 0 && len(n.AvailabilityZones) > 0 && len(n.SubnetIDs)%len(n.AvailabilityZones) != 0 {
		add("context %s: %d subnets over %d availability zones: give one zone per subnet, in the subnets' order", CtxAvailabilityZones,
			len(n.SubnetIDs), len(n.AvailabilityZones))
	}
	k := &e.Kafka
	if k.ClusterSecurityGroupID == "" && k.ClientSecurityGroupID == "" {
		add("context %s needs %s (the cluster's security group, which the stack opens to the functions) or %s (a group the cluster already admits, which the functions join)",
			CtxClusterARN, CtxClusterSecurityGroupID, CtxClientSecurityGroupID)
	}
	for _, g := range [][2]string{{CtxClusterSecurityGroupID, k.ClusterSecurityGroupID}, {CtxClientSecurityGroupID, k.ClientSecurityGroupID}} {
		if g[1] != "" && !groupID.MatchString(g[1]) {
			add("context %s is %q: want a security group id (sg-0123456789abcdef0)", g[0], g[1])
		}
	}
	if k.ReplicationFactor != 0 && !k.CreateTopics {
		add("context %s applies to the topics the stack creates: set %s=true too", CtxReplicationFactor, CtxCreateTopics)
	}
	return errors.Join(errs...)
}

// reader reads context values, noting which were given and what is wrong
// with their types.
type reader struct {
	get   func(string) any
	given []string
	errs  []error
}

func (r *reader) value(name string) any {
	v := r.get(name)
	if v != nil && name != CtxClusterARN {
		r.given = append(r.given, name)
	}
	return v
}

func (r *reader) str(name string) string {
	switch v := r.value(name).(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	default:
		r.errs = append(r.errs, fmt.Errorf("context %s is %v: want a string", name, v))
		return ""
	}
}

func (r *reader) list(name string) []string {
	var items []string
	switch v := r.value(name).(type) {
	case nil:
		return nil
	case string:
		items = strings.Split(v, ",")
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				r.errs = append(r.errs, fmt.Errorf("context %s: %v is not a string", name, x))
				continue
			}
			items = append(items, s)
		}
	default:
		r.errs = append(r.errs, fmt.Errorf("context %s is %v: want a comma-separated string or a list of strings", name, v))
		return nil
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (r *reader) boolean(name string) bool {
	switch v := r.value(name).(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return b
		}
	}
	r.errs = append(r.errs, fmt.Errorf("context %s is %v: want true or false", name, r.get(name)))
	return false
}

func (r *reader) count(name string) int {
	switch v := r.value(name).(type) {
	case nil:
		return 0
	case float64:
		if v >= 1 && v == float64(int(v)) {
			return int(v)
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 1 {
			return n
		}
	}
	r.errs = append(r.errs, fmt.Errorf("context %s is %v: want a whole number of at least 1", name, r.get(name)))
	return 0
}
