// Package observability is the operator's view of a deployed pipeline: one
// CloudWatch dashboard with, per function, how far its event source
// mappings lag the topics, its errors and duration, and the records it
// processed and dead-lettered (the functions' EMF metrics); and the
// database's capacity and connections, with an alarm when Aurora runs at
// the top of its capacity range.
package observability

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Props configure the dashboard.
type Props struct {
	// Functions maps each function's project name to its function.
	Functions map[string]awslambda.IFunction
	// Database is the Aurora cluster; nil when no function uses it.
	Database awsrds.DatabaseCluster
	// AlarmTopic is notified by the alarms built here.
	AlarmTopic awssns.ITopic
}

// Observability is the dashboard and the alarms built with it.
type Observability struct {
	constructs.Construct
	Dashboard awscloudwatch.Dashboard
	Alarms    []awscloudwatch.Alarm
}

// MetricsNamespace is the namespace of the functions' EMF metrics.
const MetricsNamespace = "shopstream"

// New builds the dashboard.
func New(scope constructs.Construct, id string, p Props) *Observability {
	c := constructs.NewConstruct(scope, &id)
	o := &Observability{Construct: c}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	names := make([]string, 0, len(p.Functions))
	for n := range p.Functions {
		names = append(names, n)
	}
	sort.Strings(names)

	per := func(title, label string, metric func(name string, fn awslambda.IFunction) awscloudwatch.IMetric) awscloudwatch.IWidget {
		var ms []awscloudwatch.IMetric
		for _, n := range names {
			ms = append(ms, metric(n, p.Functions[n]))
		}
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &ms, Width: jsii.Number(12), Height: jsii.Number(6),
			LeftYAxis: &awscloudwatch.YAxisProps{Label: jsii.String(label), ShowUnits: jsii.Bool(false)},
		})
	}
	emf := func(metric, stat string) func(string, awslambda.IFunction) awscloudwatch.IMetric {
		return func(n string, _ awslambda.IFunction) awscloudwatch.IMetric {
			return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String(MetricsNamespace), MetricName: jsii.String(metric),
				DimensionsMap: &map[string]*string{"Function": jsii.String(n)}, Statistic: jsii.String(stat),
				Period: five, Label: jsii.String(n),
			})
		}
	}
	rows := [][]awscloudwatch.IWidget{
		{
			awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
				Markdown: jsii.String("# shopstream\nPer function: event source mapping offset lag (records behind the topics), errors (failed batches; bad records are dead-lettered, not errors), duration, records processed and dead-lettered. Dead letters are in the `dead_letters` topic and the lake's `dead_letters` table."),
				Width:    jsii.Number(24), Height: jsii.Number(2),
			}),
		},
		{
			per("Offset lag (max)", "records", func(n string, fn awslambda.IFunction) awscloudwatch.IMetric {
				return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
					Namespace: jsii.String("AWS/Lambda"), MetricName: jsii.String("OffsetLag"),
					DimensionsMap: &map[string]*string{"FunctionName": fn.FunctionName()}, Statistic: jsii.String("Maximum"),
					Period: five, Label: jsii.String(n),
				})
			}),
			per("Errors (failed batches)", "count", func(n string, fn awslambda.IFunction) awscloudwatch.IMetric {
				return fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String(n)})
			}),
		},
		{
			per("Records processed", "records", emf("Records", "Sum")),
			per("Dead letters", "records", emf("DeadLetters", "Sum")),
		},
		{
			per("Duration p95", "ms", func(n string, fn awslambda.IFunction) awscloudwatch.IMetric {
				return fn.MetricDuration(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p95"), Label: jsii.String(n)})
			}),
			per("Throttles", "count", func(n string, fn awslambda.IFunction) awscloudwatch.IMetric {
				return fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String(n)})
			}),
		},
	}
	if db := p.Database; db != nil {
		acu := db.MetricACUUtilization(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})
		rows = append(rows, []awscloudwatch.IWidget{
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String("Aurora capacity"), Width: jsii.Number(12), Height: jsii.Number(6),
				Left:  &[]awscloudwatch.IMetric{db.MetricServerlessDatabaseCapacity(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})},
				Right: &[]awscloudwatch.IMetric{acu},
			}),
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String("Aurora connections and CPU"), Width: jsii.Number(12), Height: jsii.Number(6),
				Left:  &[]awscloudwatch.IMetric{db.MetricDatabaseConnections(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})},
				Right: &[]awscloudwatch.IMetric{db.MetricCPUUtilization(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})},
			}),
		})
		a := acu.CreateAlarm(c, jsii.String("AuroraCapacity"), &awscloudwatch.CreateAlarmOptions{
			Threshold: jsii.Number(90), EvaluationPeriods: jsii.Number(3), DatapointsToAlarm: jsii.Number(3),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			AlarmDescription:   jsii.String("Aurora runs at 90% or more of its maximum capacity for 15 minutes: raise the maximum ACUs or look at the analytics function's batch sizes"),
		})
		if p.AlarmTopic != nil {
			a.AddAlarmAction(awscloudwatchactions.NewSnsAction(p.AlarmTopic))
		}
		o.Alarms = append(o.Alarms, a)
	}
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	o.Dashboard = awscloudwatch.NewDashboard(c, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
		Widgets:         &widgets,
	})
	return o
}
