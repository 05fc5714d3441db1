using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/QuotaGrains.Benchmarks -- --filter '*'
// (add --job short for a quick look; BenchmarkDotNet's own options all apply).
var config = DefaultConfig.Instance.AddDiagnoser(MemoryDiagnoser.Default);
BenchmarkSwitcher.FromAssembly(typeof(QuotaGrains.Benchmarks.PricingBenchmarks).Assembly).Run(args, config);
