using Google.Protobuf;
using MobileUNet.Export;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Platform;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace MobileUNet.Benchmarks;

/// <summary>
/// ONNX Runtime on one execution provider. Each runner exports its part in memory with <see cref="OnnxExporter"/>
/// (or reads a given .onnx file), opens a session tuned for speed (all graph optimisations, the bench's
/// intra-op thread count, no spinning: the bench keeps several sessions alive, DESIGN.md section 3), creates its
/// input and output tensors once and binds them with an <see cref="OrtIoBinding"/>, so a run allocates nothing.
/// The exported graph takes the model's precision and transposed-conv form (<see cref="BenchModel"/>). With an
/// optimised-graph folder, each model session also writes the graph ONNX Runtime runs after its fusions there
/// (NAME.optimized.onnx), to see what was fused (DESIGN.md section 3).
/// </summary>
internal sealed class OnnxBackend : IBenchBackend, IOperatorProfiler
{
    readonly string? optimizedGraphs;

    public OnnxBackend(string executionProvider = RuntimeOptions.DefaultExecutionProvider, string? optimizedGraphs = null)
    {
        if (RuntimeOptions.ExecutionProviderError(executionProvider) is { } error) throw new ArgumentException(error);
        ExecutionProvider = executionProvider.ToLowerInvariant();
        this.optimizedGraphs = optimizedGraphs;
    }

    /// <summary>The execution providers this ONNX Runtime build reports, cpu first.</summary>
    public static IReadOnlyList<string> AvailableProviders() => RuntimeOptions.AvailableProviders();

    public string Name => BenchBackends.NameOf(Backend.Onnx);
    public string ExecutionProvider { get; }
    public string RuntimeName => "onnxruntime";
    public string RuntimeVersion => OrtEnv.Instance().GetVersionString();

    public IBenchRunner Prepare(BenchModel model, BenchPart part, int batch, int threads)
    {
        CheckCounts(batch, threads);
        var (bytes, source) = Graph(model, part);
        byte[]? encoder = part == BenchPart.Decoder ? Graph(model with { TransposedConv = null }, BenchPart.Encoder).Bytes : null;
        string? optimized = null;
        if (optimizedGraphs is not null)
        {
            Directory.CreateDirectory(optimizedGraphs);
            string name = FormattableString.Invariant($"{model.Label}-{part}-x{threads}-b{batch}").Replace(' ', '-').ToLowerInvariant();
            optimized = Path.Combine(optimizedGraphs, name + ".optimized.onnx");
        }
        return new SessionRunner(Options(threads, optimized), bytes, source, batch, encoder);
    }

    public IBenchRunner PrepareBlock(BlockShape shape, BlockKind kind, int batch, int threads)
    {
        CheckCounts(batch, threads);
        return new SessionRunner(Options(threads), BenchExports.Block(shape, kind), $"{kind} block {shape.Stage}", batch, null);
    }

    public IReadOnlyList<OperatorTime> ProfileOperators(BenchModel model, int batch, int threads, int runs)
    {
        CheckCounts(batch, threads);
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), "Profile at least one run.");
        var (bytes, source) = Graph(model, BenchPart.Model);
        var dir = Directory.CreateTempSubdirectory("mobileunet-ort-profile-");
        try
        {
            var options = Options(threads);
            // The prefix must be set first: enabling profiling hands the current prefix to the runtime.
            options.ProfileOutputPathPrefix = Path.Combine(dir.FullName, "ort");
            options.EnableProfiling = true;
            string trace;
            using (var runner = new SessionRunner(options, bytes, source, batch, null))
            {
                for (int i = 0; i < OperatorProfile.WarmupRuns + runs; i++) runner.RunOnce();
                trace = runner.EndProfiling();
            }
            return OperatorProfile.Summarise(File.ReadAllText(trace), ModelProto.Parser.ParseFrom(bytes).Graph, OperatorProfile.WarmupRuns);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    public void Dispose() { }

    /// <summary>
    /// The ONNX graph of a part: exported in memory from untrained weights, a .munet file, or read from a .onnx
    /// file. A .onnx file cannot be cut into encoder and decoder, so parts of it are exported from untrained
    /// weights of its spec (same graph, same speed: speed needs no trained model). An export takes the model's
    /// precision and transposed-conv form; int8 calibrates on the exporter's default images.
    /// </summary>
    static (byte[] Bytes, string Source) Graph(BenchModel model, BenchPart part)
    {
        var path = model.WeightsPath;
        if (path is not null && path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && part == BenchPart.Model
            && ReadSpec(path) == model.Spec)
            return (File.ReadAllBytes(path), path);

        TorchNativeLoader.EnsureLoadable();
        Model.MobileUNet net;
        if (path is not null && path.EndsWith(".munet", StringComparison.OrdinalIgnoreCase))
        {
            (net, _) = WeightsFile.Load(path);
            if (net.Spec != model.Spec)
            {
                // A decoder variant of another upsampling: the file's weights do not fit it.
                net.Dispose();
                net = new Model.MobileUNet(model.Spec);
            }
        }
        else if (path is null || path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            net = new Model.MobileUNet(model.Spec);
        else throw new ArgumentException($"{path}: the onnx backend runs .munet weights files and .onnx models only.");

        using (net)
            return (BenchExports.Part(net, part, model.Precision, model.TransposedConv), $"{model.Label} {part.ToString().ToLowerInvariant()}");
    }

    /// <summary>The spec a MobileUNet .onnx export records in its metadata; a file without it fails naming the file.</summary>
    public static ModelSpec ReadSpec(string onnxPath) => new Inference.ModelSource.File(onnxPath).ReadSpec();

    /// <summary>
    /// Tuned for speed: all graph optimisations, the bench's thread count, and no spinning, since idle spinning
    /// threads of one live session would steal the cores of the one being timed (DESIGN.md section 3).
    /// </summary>
    SessionOptions Options(int threads, string? optimizedGraph = null) =>
        new RuntimeOptions { ExecutionProvider = ExecutionProvider, Threads = threads, AllowSpinning = false, OptimizedModelPath = optimizedGraph }
            .CreateSessionOptions();

    static void CheckCounts(int batch, int threads)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), $"Batch must be at least 1, got {batch}.");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"Threads must be at least 1, got {threads}.");
    }

    /// <summary>
    /// One session with every input and output created once (native memory from the default CPU allocator) and
    /// bound; <see cref="RunOnce"/> is one <c>RunWithBinding</c>. Inputs are fixed pseudo-random values; a
    /// decoder's inputs are the encoder's real outputs for such an image, computed once at preparation.
    /// </summary>
    sealed class SessionRunner : IBenchRunner
    {
        readonly InferenceSession session;
        readonly RunOptions runOptions = new();
        readonly OrtIoBinding binding;
        readonly List<OrtValue> values = [];

        public SessionRunner(SessionOptions options, byte[] model, string source, int batch, byte[]? encoder)
        {
            try
            {
                session = new InferenceSession(model, options);
            }
            catch (OnnxRuntimeException e)
            {
                throw new InvalidDataException($"{source}: ONNX Runtime cannot load it ({e.Message.ReplaceLineEndings(" ").Trim()}).");
            }
            finally
            {
                options.Dispose();
            }
            try
            {
                binding = session.CreateIoBinding();
                var features = encoder is null ? null : EncoderOutputs(encoder, batch);
                var random = new Random(12345);
                foreach (var (name, meta) in session.InputMetadata)
                {
                    var value = Allocate(name, meta, batch, source);
                    if (features is not null && features.TryGetValue(name + "_out", out var feature))
                        feature.AsSpan().CopyTo(value.GetTensorMutableDataAsSpan<float>());
                    else Fill(value, meta, random);
                    binding.BindInput(name, value);
                }
                foreach (var (name, meta) in session.OutputMetadata)
                {
                    if (meta.Dimensions.Skip(1).All(d => d > 0)) binding.BindOutput(name, Allocate(name, meta, batch, source));
                    // An output whose size only the run knows (a foreign model) is allocated by the runtime each run.
                    else binding.BindOutputToDevice(name, OrtMemoryInfo.DefaultInstance);
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public void RunOnce() => session.RunWithBinding(runOptions, binding);

        public IReadOnlyList<long[]> RunAndShapes()
        {
            session.RunWithBinding(runOptions, binding);
            using var outputs = binding.GetOutputValues();
            return [.. outputs.Select(o => o.GetTensorTypeAndShape().Shape)];
        }

        public string EndProfiling() => session.EndProfiling();

        OrtValue Allocate(string name, NodeMetadata meta, int batch, string source)
        {
            if (!meta.IsTensor || meta.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16))
                throw new InvalidDataException($"{source}: '{name}' is not a float tensor; the bench feeds float inputs only.");
            var shape = meta.Dimensions.Select((d, i) => i == 0 && d < 0 ? batch : d).Select(d => (long)d).ToArray();
            if (shape.Skip(1).Any(d => d < 1))
                throw new InvalidDataException($"{source}: '{name}' has a size only known at run time ([{string.Join(",", meta.Dimensions)}]); the bench needs fixed sizes after the batch.");
            var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, meta.ElementDataType, shape);
            values.Add(value);
            return value;
        }

        static void Fill(OrtValue value, NodeMetadata meta, Random random)
        {
            if (meta.ElementDataType == TensorElementType.Float)
                foreach (ref var v in value.GetTensorMutableDataAsSpan<float>()) v = (float)(random.NextDouble() * 2 - 1);
            else
                foreach (ref var v in value.GetTensorMutableDataAsSpan<Float16>()) v = (Float16)(float)(random.NextDouble() * 2 - 1);
        }

        /// <summary>The encoder's outputs for this runner's kind of input, run once in a session of its own.</summary>
        static Dictionary<string, float[]> EncoderOutputs(byte[] encoder, int batch)
        {
            using var options = new RuntimeOptions { Threads = 1 }.CreateSessionOptions();
            using var session = new InferenceSession(encoder, options);
            var (name, meta) = session.InputMetadata.First();
            var shape = meta.Dimensions.Select((d, i) => i == 0 ? batch : (long)d).ToArray();
            var random = new Random(12345);
            var image = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < image.Length; i++) image[i] = (float)(random.NextDouble() * 2 - 1);
            using var input = OrtValue.CreateTensorValueFromMemory(image, shape);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, [name], [input], session.OutputNames);
            return session.OutputNames.Select((n, i) => (n, outputs[i].GetTensorDataAsSpan<float>().ToArray())).ToDictionary(p => p.n, p => p.Item2);
        }

        public void Dispose()
        {
            binding?.Dispose();
            foreach (var v in values) v.Dispose();
            runOptions.Dispose();
            session?.Dispose();
        }
    }
}
