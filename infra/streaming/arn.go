package streaming

import (
	"fmt"
	"regexp"
)

// ClusterARN is the ARN of an MSK cluster, provisioned or serverless:
// arn:PARTITION:kafka:REGION:ACCOUNT:cluster/NAME/UUID.
type ClusterARN struct {
	Partition, Region, Account, Name, UUID string
}

var clusterARN = regexp.MustCompile(`^arn:(aws(?:-[a-z]+)*):kafka:([a-z]{2}(?:-[a-z]+)+-[0-9]+):([0-9]{12}):cluster/([A-Za-z0-9-]{1,64})/([A-Za-z0-9-]+)$`)

// ParseClusterARN parses s, or says what is wrong with it.
func ParseClusterARN(s string) (ClusterARN, error) {
	m := clusterARN.FindStringSubmatch(s)
	if m == nil {
		return ClusterARN{}, fmt.Errorf("cluster ARN %q: want arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID (the ARN of an MSK cluster, as the MSK console or `aws kafka list-clusters-v2` shows it)", s)
	}
	return ClusterARN{Partition: m[1], Region: m[2], Account: m[3], Name: m[4], UUID: m[5]}, nil
}

// String returns the ARN.
func (a ClusterARN) String() string {
	return fmt.Sprintf("arn:%s:kafka:%s:%s:cluster/%s/%s", a.Partition, a.Region, a.Account, a.Name, a.UUID)
}

// ResourcePrefix returns the ARN prefix of the cluster's resources of a
// kind ("topic", "group", "transactional-id"):
// arn:PARTITION:kafka:REGION:ACCOUNT:KIND/NAME/UUID/.
func (a ClusterARN) ResourcePrefix(kind string) string {
	return fmt.Sprintf("arn:%s:kafka:%s:%s:%s/%s/%s/", a.Partition, a.Region, a.Account, kind, a.Name, a.UUID)
}
