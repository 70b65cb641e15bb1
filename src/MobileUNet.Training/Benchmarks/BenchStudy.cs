using MobileUNet.Export;
using MobileUNet.Model;

namespace MobileUNet.Benchmarks;

/// <summary>
/// What one `mobileunet bench` run times. <see cref="Specs"/> is the alpha x size x upsampling grid (or a --model
/// file's spec); with <see cref="Parts"/> each spec's encoder and its decoder in every <see cref="DecoderVariants"/>
/// are timed apart; with <see cref="Blocks"/> a conv block and a depthwise block at each encoder stage of
/// <see cref="BlockSpec"/>. <see cref="Precisions"/> and <see cref="TransposedConvForms"/> are axes of the exported
/// ONNX graph, so they pair with backends that time such graphs (<see cref="BenchBackends.TimesOnnxGraphs"/>);
/// null means fp32 in the export's default form, the grid as it was before these axes existed.
/// With <see cref="OptimizedGraphs"/> the onnx backend writes each graph as ONNX Runtime runs it (after its fusions).
/// </summary>
internal sealed record BenchPlan(
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
    string CommandLine = "",
    IReadOnlyList<OnnxPrecision>? Precisions = null,
    IReadOnlyList<TransposedConvForm>? TransposedConvForms = null,
    string? OptimizedGraphs = null)
{
    public IReadOnlyList<Upsampling> Variants => DecoderVariants ?? Enum.GetValues<Upsampling>();

    /// <summary>The precisions asked for: fp32 unless given.</summary>
    public IReadOnlyList<OnnxPrecision> PrecisionAxis => Precisions ?? [OnnxPrecision.Fp32];

    bool OnnxFile => ModelFile?.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>Timed configurations in total, for a progress bar (a decoder variant two specs share is timed once).</summary>
    public int Steps => Backends.Sum(b => Threads.Count *
        (Specs.SelectMany(s => Jobs(b, s)).Distinct().Count() + (Blocks ? BenchGrid.BlockJobs(BlockSpec ?? Specs[0]).Count : 0)));

    /// <summary>
    /// The whole-model and part configurations of one spec on one backend, in the order they are timed, each once:
    /// <see cref="BenchGrid.Jobs"/> in every precision x transposed-conv form on a backend that times ONNX graphs,
    /// in fp32 alone on the others. The form is recorded as the graph spells it (the export's default where none was
    /// asked for) and dropped where the graph has no transposed conv, so a resize decoder or an encoder is timed once
    /// per precision. int8 quantises the whole model only, so its parts are not timed apart; an .onnx file's own
    /// graph is timed as written.
    /// </summary>
    public IReadOnlyList<BenchJob> Jobs(string backend, ModelSpec spec)
    {
        bool graphs = BenchBackends.TimesOnnxGraphs(backend);
        var jobs = new List<BenchJob>();
        void Add(ModelSpec jobSpec, BenchPart part, OnnxPrecision precision, TransposedConvForm? form)
        {
            bool asWritten = OnnxFile && part == BenchPart.Model;
            bool transposed = graphs && !asWritten && jobSpec.Upsampling == Upsampling.TransposedConv && part != BenchPart.Encoder;
            // The encoder has no transposed conv: its form is left out so that one encoder serves every form.
            var job = new BenchJob(new BenchModel(jobSpec, ModelFile, precision,
                transposed ? form ?? OnnxExportOptions.DefaultTransposedConvForm(precision) : null), part);
            if (!jobs.Contains(job)) jobs.Add(job);
        }

        var precisions = graphs ? PrecisionAxis : PrecisionAxis.Where(p => p == OnnxPrecision.Fp32);
        IReadOnlyList<TransposedConvForm?> forms = graphs && TransposedConvForms is { Count: > 0 } given ? [.. given.Cast<TransposedConvForm?>()] : [null];
        foreach (var precision in precisions)
            foreach (var form in forms)
                foreach (var (jobSpec, part) in BenchGrid.Jobs(spec, Parts && precision != OnnxPrecision.Int8, Variants))
                    Add(jobSpec, part, precision, form);
        return jobs;
    }

    /// <summary>
    /// What the grid asks for that some backend or part does not time, one line each, so that nothing is dropped
    /// silently: a caller shows these before the run.
    /// </summary>
    public IReadOnlyList<string> Skipped
    {
        get
        {
            var notes = new List<string>();
            var other = PrecisionAxis.Where(p => p != OnnxPrecision.Fp32).Select(Name).ToList();
            bool formsGiven = TransposedConvForms is { Count: > 0 };
            foreach (var backend in Backends.Where(b => !BenchBackends.TimesOnnxGraphs(b)))
            {
                if (other.Count > 0)
                    notes.Add($"{backend}: {string.Join(", ", other)} not timed (precision is a choice of the exported ONNX graph, which the onnx backend times); "
                        + (PrecisionAxis.Contains(OnnxPrecision.Fp32) ? $"{backend} times fp32." : $"{backend} times no model here."));
                if (formsGiven)
                    notes.Add($"{backend}: the transposed-conv form is a choice of the exported ONNX graph; {backend} times its own transposed conv, once per configuration.");
            }
            bool graphs = Backends.Any(BenchBackends.TimesOnnxGraphs);
            if (graphs && Parts && PrecisionAxis.Contains(OnnxPrecision.Int8))
                notes.Add("int8 quantises the whole model: its encoder and decoder are not timed apart.");
            if (graphs && formsGiven && (Specs.Any(s => s.Upsampling != Upsampling.TransposedConv) || Parts && Variants.Any(v => v != Upsampling.TransposedConv)))
                notes.Add("the resize decoders (BilinearConv, NearestConv) have no transposed conv: they are timed once per precision, not per transposed-conv form.");
            return notes;
        }
    }

    static string Name(OnnxPrecision precision) => precision.ToString().ToLowerInvariant();

    /// <summary>Refuses a plan that cannot run or would time nothing, with the reason.</summary>
    public void Validate()
    {
        if (Specs.Count == 0) throw new ArgumentException("Nothing to bench: the grid is empty.");
        if (Threads.Count == 0 || Threads.Any(t => t < 1)) throw new ArgumentException($"{nameof(Threads)}: name thread counts, each at least 1.");
        if (Batch < 1) throw new ArgumentException($"{nameof(Batch)} must be at least 1, got {Batch}.");
        if (PrecisionAxis.Count == 0) throw new ArgumentException("Nothing to bench: no precision given.");
        if (Parts && Specs.Any(s => !s.IsMobileUNet))
            throw new ArgumentException("timing parts times a MobileUNet's encoder and decoder apart; an imported model is timed whole only.");
        if (OnnxFile)
        {
            var own = Inference.ModelSource.ReadOnnxMetadata(ModelFile!).Precision;
            if (PrecisionAxis.Any(p => p != own) || TransposedConvForms is { Count: > 0 })
                throw new ArgumentException($"{ModelFile} is an {Name(own)} ONNX graph and is timed as written; to compare precisions or transposed-conv forms, time the .munet it was exported from.");
        }
        if (!Blocks && Backends.All(b => Specs.All(s => Jobs(b, s).Count == 0)))
            throw new ArgumentException("Nothing to bench: " + string.Join(" ", Skipped));
    }
}

/// <summary>One configuration to time: a model (spec, weights, graph precision and form) and the part of it that runs.</summary>
internal sealed record BenchJob(BenchModel Model, BenchPart Part);

/// <summary>Progress of a bench run: which configuration is being timed, how many are done.</summary>
internal sealed record BenchProgress(int Done, int Total, string Current);

/// <summary>Runs a <see cref="BenchPlan"/>: builds each backend, times every configuration, returns the records.</summary>
internal static class BenchStudy
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
        plan.Validate();
        var backends = plan.Backends.Select(name => BenchBackends.Create(name, plan.ExecutionProvider, plan.OptimizedGraphs)).ToList();
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
                    // Specs that differ only in upsampling share their decoder variants: each is timed once.
                    var timed = new HashSet<BenchJob>();
                    foreach (var spec in plan.Specs)
                    {
                        foreach (var (model, part) in plan.Jobs(backend.Name, spec).Where(timed.Add))
                        {
                            var jobSpec = model.Spec;
                            Report($"{where} {model.Label} {part.ToString().ToLowerInvariant()}");
                            var (parameters, macs) = jobSpec.IsMobileUNet ? Size(Summary(jobSpec), part) : RecordedSize(plan.ModelFile);
                            long before = MachineProbe.BeginMemoryWindow(out bool perWindow);
                            LatencySamples samples;
                            using (var runner = backend.Prepare(model, part, plan.Batch, threads))
                                samples = LatencyRunner.Measure(runner, plan.Budget, cancellationToken);
                            var memory = MachineProbe.EndMemoryWindow(before, perWindow);
                            results.Add(new BenchResult(backend.Name, backend.ExecutionProvider, threads, plan.Batch, jobSpec, part,
                                parameters, macs, samples.Stats(), samples.Stable, memory, samples.TimedSeconds, model.Precision, model.TransposedConv));
                            done++;
                        }
                        // The operator breakdown profiles the fp32 graph in its default form, as it did before the graph axes.
                        if (plan.Parts && backend is IOperatorProfiler profiler && plan.PrecisionAxis.Contains(OnnxPrecision.Fp32))
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
                plan.ModelFile, plan.Parts, plan.Blocks, plan.CommandLine, plan.Precisions, plan.TransposedConvForms);
            return new BenchDocument(BenchDocument.CurrentSchema, DateTimeOffset.UtcNow, MachineProbe.Describe(plan.MachineLabel, backends),
                settings, results, blocks, operators);
        }
        finally
        {
            foreach (var b in backends) b.Dispose();
        }
    }
}
