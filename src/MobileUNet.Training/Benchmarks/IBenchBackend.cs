using System.Text.Json.Serialization;
using MobileUNet.Export;
using MobileUNet.Model;

namespace MobileUNet.Benchmarks;

/// <summary>Which part of the network one timed call runs.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BenchPart>))]
public enum BenchPart
{
    /// <summary>Image to logits: the whole network.</summary>
    Model,
    /// <summary>Image to the encoder's features (b00..b13).</summary>
    Encoder,
    /// <summary>Pre-computed encoder features to logits (up1..head), so the decoder's cost is seen alone.</summary>
    Decoder,
}

/// <summary>The two blocks the original compared at each encoder stage's shape.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BlockKind>))]
public enum BlockKind
{
    /// <summary>3x3 convolution -> BN -> ReLU6 (a regular conv block).</summary>
    Conv,
    /// <summary>3x3 depthwise -> BN -> ReLU6 -> 1x1 pointwise -> BN -> ReLU6.</summary>
    Depthwise,
}

/// <summary>
/// What to time: a spec, and optionally a weights file (a trained .munet, or for backends that take one, an
/// exported model such as .onnx). Without a file the weights are untrained: speed needs no training.
/// <see cref="Precision"/> and <see cref="TransposedConv"/> say how a backend that runs exported ONNX graphs writes
/// the graph (null: the export's default form for the precision); a backend that runs the torch modules takes fp32
/// and no form only. An int8 graph is calibrated on <see cref="Int8Calibration.Default"/>: the ranges it sets do
/// not change the graph or its speed, and untrained models have no data of their own.
/// </summary>
internal sealed record BenchModel(ModelSpec Spec, string? WeightsPath = null, OnnxPrecision Precision = OnnxPrecision.Fp32,
    TransposedConvForm? TransposedConv = null)
{
    /// <summary>The spec's label and, where they differ from fp32 in the default form, precision and form: "a0.5-s128 int8".</summary>
    public string Label => Spec.Label + Describe(null, Precision, TransposedConv) switch { "" => "", var v => " " + v };

    /// <summary>
    /// The words that set a run apart from the original fp32 network: a resize decoder, a precision other than fp32,
    /// a transposed-conv form other than the export's default for the precision; "" when none.
    /// </summary>
    internal static string Describe(Upsampling? upsampling, OnnxPrecision precision, TransposedConvForm? form)
    {
        var words = new List<string>();
        if (upsampling == Upsampling.BilinearConv) words.Add("bilinear");
        else if (upsampling == Upsampling.NearestConv) words.Add("nearest");
        if (precision != OnnxPrecision.Fp32) words.Add(precision.ToString().ToLowerInvariant());
        if (form is { } f && f != OnnxExportOptions.DefaultTransposedConvForm(precision)) words.Add(f.ToString());
        return string.Join(' ', words);
    }
}

/// <summary>One prepared inference: inputs allocated once, each <see cref="RunOnce"/> one call on them.</summary>
internal interface IBenchRunner : IDisposable
{
    /// <summary>One inference on the pre-allocated inputs; outputs are released before it returns.</summary>
    void RunOnce();

    /// <summary>One inference (not timed) that reports the shape of each output: proof that a runner computes
    /// what its part should, for tests and checks.</summary>
    IReadOnlyList<long[]> RunAndShapes();
}

/// <summary>
/// A runtime the speed study can time (TorchSharp eager, ONNX Runtime with an execution provider, ...).
/// A backend builds runners; the <see cref="LatencyRunner"/> times them; records say which backend they came from.
/// To add one: implement this, and register a factory in <see cref="BenchBackends"/>.
/// </summary>
internal interface IBenchBackend : IDisposable
{
    /// <summary>Short name used on the command line and in records: "torch", "onnx".</summary>
    string Name { get; }

    /// <summary>Where the work runs: "cpu" for torch here; the ONNX Runtime execution provider for onnx.</summary>
    string ExecutionProvider { get; }

    /// <summary>Runtime library name and version, for the machine record ("libtorch" "2.10.0", "onnxruntime" "1.31.1").</summary>
    string RuntimeName { get; }
    string RuntimeVersion { get; }

    /// <summary>Builds a runner for one part of one model at a batch size and intra-op thread count.</summary>
    IBenchRunner Prepare(BenchModel model, BenchPart part, int batch, int threads);

    /// <summary>Builds a runner for one block (untrained) at one encoder stage's shape.</summary>
    IBenchRunner PrepareBlock(BlockShape shape, BlockKind kind, int batch, int threads);
}

/// <summary>
/// Optional capability of a backend whose runtime has a per-node profiler (ONNX Runtime's
/// <c>SessionOptions.EnableProfiling</c>): time spent per operator type, for the --parts breakdown.
/// </summary>
internal interface IOperatorProfiler
{
    /// <summary>Runs the model <paramref name="runs"/> times under the profiler and sums node time by operator type.</summary>
    IReadOnlyList<OperatorTime> ProfileOperators(BenchModel model, int batch, int threads, int runs);
}

/// <summary>Time of one operator type (depthwise conv, pointwise conv, full conv, transposed conv, concat, resize, ...) per inference.</summary>
public sealed record OperatorTime(string Operator, int Nodes, double MsPerRun, double Share);
