// The OpenTelemetry SDK listens to meters by name, not by the IMeterFactory that created them: two sidecar hosts
// alive in one test process would see each other's measurements. Test classes therefore run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
