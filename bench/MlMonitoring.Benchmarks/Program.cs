using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(MlMonitoring.Benchmarks.RecordingBenchmarks).Assembly).Run(args);
