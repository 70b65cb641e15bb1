using MobileUNet.Model;

namespace MobileUNet.Benchmarks;

/// <summary>
/// What one `mobileunet bench` run times. <see cref="Specs"/> is the alpha x size grid (or a --model file's
/// spec); with <see cref="Parts"/> each spec's encoder and its decoder in every <see cref="DecoderVariants"/>
/// are timed apart; with <see cref="Blocks"/> a conv block and a depthwise block at each encoder stage of
/// <see cref="BlockSpec"/>.
/// </summary>
public sealed record BenchPlan(
    IReadOnlyList<ModelSpec> Specs,
    IReadOnlyList<string> Backends,
    string? ExecutionProvider,
    IReadOnlyList<int> Threads,
    int Batch,
    BenchBudget Budget,
    string? ModelFile = null,
    bool Parts = false,
    IReadOnlyList<Upsampling>? DecoderVariants = null,
    bool Blocks = false,
    ModelSpec? BlockSpec = null,
    string? MachineLabel = null,
    string CommandLine = "")
{
    public IReadOnlyList<Upsampling> Variants => DecoderVariants ?? Enum.GetValues<Upsampling>();

    /// <summary>Timed configurations in total, for a progress bar.</summary>
    public int Steps => Backends.Count * Threads.Count *
        (Specs.Sum(s => BenchGrid.Jobs(s, Parts, Variants).Count) + (Blocks ? BenchGrid.BlockJobs(BlockSpec ?? Specs[0]).Count : 0));
}

/// <summary>Progress of a bench run: which configuration is being timed, how many are done.</summary>
public sealed record BenchProgress(int Done, int Total, string Current);

/// <summary>Runs a <see cref="BenchPlan"/>: builds each backend, times every configuration, returns the records.</summary>
public static class BenchStudy
{
    /// <summary>Parameters and MACs of one timed part, from the model summary (an independent walk of the network).</summary>
    public static (long Parameters, long Macs) Size(ModelSummary summary, BenchPart part) => part switch
    {
        BenchPart.Encoder => (summary.EncoderParameters, summary.EncoderMacs),
        BenchPart.Decoder => (summary.DecoderParameters, summary.DecoderMacs),
        _ => (summary.Parameters, summary.Macs),
    };

    // Another architecture (an imported model) cannot be counted from its spec: its file records its size.
    static (long Parameters, long Macs) RecordedSize(string? modelFile)
    {
        var metadata = modelFile is not null ? Inference.ModelSource.ReadOnnxMetadata(modelFile) : null;
        return (metadata?.Parameters ?? 0, metadata?.Macs ?? 0);
    }

    public static BenchDocument Run(BenchPlan plan, IProgress<BenchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (plan.Specs.Count == 0) throw new ArgumentException("Nothing to bench: the grid is empty.");
        if (plan.Threads.Count == 0 || plan.Threads.Any(t => t < 1)) throw new ArgumentException("--threads: every thread count must be at least 1.");
        if (plan.Batch < 1) throw new ArgumentException($"--batch must be at least 1, got {plan.Batch}.");

        if (plan.Parts && plan.Specs.Any(s => !s.IsMobileUNet))
            throw new ArgumentException("--parts times a MobileUNet's encoder and decoder apart; an imported model is timed whole only.");
        var backends = plan.Backends.Select(name => BenchBackends.Create(name, plan.ExecutionProvider)).ToList();
        try
        {
            var summaries = new Dictionary<ModelSpec, ModelSummary>();
            ModelSummary Summary(ModelSpec spec)
            {
                if (!summaries.TryGetValue(spec, out var s)) summaries[spec] = s = ModelSummary.Of(spec);
                return s;
            }

            var results = new List<BenchResult>();
            var blocks = new List<BlockResult>();
            var operators = new List<OperatorBreakdown>();
            int done = 0, total = plan.Steps;

            void Report(string what) => progress?.Report(new BenchProgress(done, total, what));

            foreach (var backend in backends)
                foreach (var threads in plan.Threads)
                {
                    string where = FormattableString.Invariant($"{backend.Name}/{backend.ExecutionProvider} x{threads}");
                    foreach (var spec in plan.Specs)
                    {
                        foreach (var (jobSpec, part) in BenchGrid.Jobs(spec, plan.Parts, plan.Variants))
                        {
                            Report($"{where} {jobSpec.Label} {part.ToString().ToLowerInvariant()}");
                            var (parameters, macs) = jobSpec.IsMobileUNet ? Size(Summary(jobSpec), part) : RecordedSize(plan.ModelFile);
                            var model = new BenchModel(jobSpec, plan.ModelFile);
                            long before = MachineProbe.BeginMemoryWindow(out bool perWindow);
                            LatencySamples samples;
                            using (var runner = backend.Prepare(model, part, plan.Batch, threads))
                                samples = LatencyRunner.Measure(runner, plan.Budget, cancellationToken);
                            var memory = MachineProbe.EndMemoryWindow(before, perWindow);
                            results.Add(new BenchResult(backend.Name, backend.ExecutionProvider, threads, plan.Batch, jobSpec, part,
                                parameters, macs, samples.Stats(), samples.Stable, memory, samples.TimedSeconds));
                            done++;
                        }
                        if (plan.Parts && backend is IOperatorProfiler profiler)
                            operators.Add(new OperatorBreakdown(backend.Name, backend.ExecutionProvider, threads, plan.Batch, spec,
                                profiler.ProfileOperators(new BenchModel(spec, plan.ModelFile), plan.Batch, threads, runs: 20)));
                    }

                    if (plan.Blocks)
                    {
                        var blockSpec = plan.BlockSpec ?? plan.Specs[0];
                        foreach (var (shape, kind) in BenchGrid.BlockJobs(blockSpec))
                        {
                            Report($"{where} block {shape.Stage} {kind.ToString().ToLowerInvariant()}");
                            LatencySamples samples;
                            using (var runner = backend.PrepareBlock(shape, kind, plan.Batch, threads))
                                samples = LatencyRunner.Measure(runner, plan.Budget, cancellationToken);
                            blocks.Add(new BlockResult(backend.Name, backend.ExecutionProvider, threads, plan.Batch, blockSpec.Alpha, shape, kind,
                                shape.Parameters(kind), shape.Macs(kind), samples.Stats(), samples.Stable));
                            done++;
                        }
                    }
                }
            Report("done");

            var settings = new BenchSettings(plan.Backends, plan.ExecutionProvider, plan.Threads, plan.Batch, plan.Budget.Seconds,
                plan.ModelFile, plan.Parts, plan.Blocks, plan.CommandLine);
            return new BenchDocument(BenchDocument.CurrentSchema, DateTimeOffset.UtcNow, MachineProbe.Describe(plan.MachineLabel, backends),
                settings, results, blocks, operators);
        }
        finally
        {
            foreach (var b in backends) b.Dispose();
        }
    }
}
