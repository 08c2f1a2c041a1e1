// Tests start sidecar processes and measure delivery; one class at a time keeps the two cores for them.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
