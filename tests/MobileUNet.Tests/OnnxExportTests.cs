using TorchSharp;
using MobileUNet.Export;
using MobileUNet.Inference;
using MobileUNet.Model;
using Microsoft.ML.OnnxRuntime;
using static MobileUNet.Tests.OnnxTestSupport;
using static TorchSharp.torch;
using MobileUNet.Data;

namespace MobileUNet.Tests;

public class OnnxExportTests
{
    const float Fp32Tolerance = 1e-4f;

    [Theory]
    [MemberData(nameof(ModelTests.Grid), MemberType = typeof(ModelTests))]
    public void Export_matches_torch_within_1e4_over_the_grid(double alpha, int size) =>
        AssertAgreement(new ModelSpec(alpha, size), seed: (int)(alpha * 100) + size);

    [Theory]
    [InlineData(Upsampling.BilinearConv, 0.5, 128)]
    [InlineData(Upsampling.NearestConv, 0.5, 128)]
    [InlineData(Upsampling.BilinearConv, 0.25, 64)]
    [InlineData(Upsampling.NearestConv, 0.25, 64)]
    public void Resize_conv_decoders_match_torch_within_1e4(Upsampling kind, double alpha, int size) =>
        AssertAgreement(new ModelSpec(alpha, size, kind), seed: 7);

    static void AssertAgreement(ModelSpec spec, int seed)
    {
        using var model = RandomModel(spec, seed);
        var onnx = OnnxExporter.ToBytes(model);
        using var x = randn(1, 3, spec.InputSize, spec.InputSize);
        var actual = Run(onnx, (OnnxExporter.InputName, x))[OnnxExporter.OutputName];
        var reference = ReferencePredict(model, x);
        // Saturated probabilities (all 0 or 1) would make agreement trivial: the check needs a spread.
        Assert.True(reference.Count(p => p is > 0.02f and < 0.98f) > reference.Length / 10, "reference probabilities are saturated");
        float diff = MaxAbsDiff(reference, actual);
        Assert.True(diff <= Fp32Tolerance, $"{spec.Label}: max abs diff {diff} > {Fp32Tolerance}");
    }

    [Fact]
    public void Encoder_and_decoder_alone_match_torch()
    {
        var spec = new ModelSpec(0.25, 64);
        using var model = RandomModel(spec, 11);
        var encoderOnnx = OnnxExporter.ToBytes(model, new OnnxExportOptions { Part = OnnxPart.Encoder });
        var decoderOnnx = OnnxExporter.ToBytes(model, new OnnxExportOptions { Part = OnnxPart.Decoder });
        using var x = randn(1, 3, 64, 64);
        using var _ = no_grad();
        model.to(float64);
        using var features = model.Encoder.forward(x.to(float64));
        var featureTensors = features.All.Select(t => t.to(float32)).ToArray();

        var encoder = Run(encoderOnnx, (OnnxExporter.InputName, x));
        Assert.Equal(6, encoder.Count);
        for (int i = 0; i < 6; i++)
        {
            float diff = MaxAbsDiff(Floats(featureTensors[i]), encoder[OnnxExporter.FeatureNames[i] + "_out"]);
            Assert.True(diff <= Fp32Tolerance, $"{OnnxExporter.FeatureNames[i]}: {diff}");
        }

        using var logits = model.Decoder.forward(features);
        using var probabilities = logits.sigmoid().to(float32);
        var decoderInputs = OnnxExporter.FeatureNames.Zip(featureTensors, (n, t) => (n, t)).ToArray();
        var decoder = Run(decoderOnnx, decoderInputs);
        float d = MaxAbsDiff(Floats(probabilities), decoder[OnnxExporter.OutputName]);
        Assert.True(d <= Fp32Tolerance, $"decoder: {d}");
    }

    [Fact]
    public void Batch_dimension_is_symbolic()
    {
        var spec = new ModelSpec(0.25, 64);
        using var model = RandomModel(spec, 5);
        using var options = Options();
        using var session = new InferenceSession(OnnxExporter.ToBytes(model), options);
        var input = session.InputMetadata[OnnxExporter.InputName];
        Assert.Equal([-1, 3, 64, 64], input.Dimensions);
        Assert.Equal(OnnxExporter.BatchSymbol, input.SymbolicDimensions[0]);
        Assert.Equal([-1, 1, 64, 64], session.OutputMetadata[OnnxExporter.OutputName].Dimensions);

        using var x = randn(2, 3, 64, 64);
        var actual = Run(session, (OnnxExporter.InputName, x))[OnnxExporter.OutputName];
        Assert.Equal(2 * 64 * 64, actual.Length);
        Assert.True(MaxAbsDiff(ReferencePredict(model, x), actual) <= Fp32Tolerance);
    }

    [Fact]
    public void Metadata_round_trips_spec_normalisation_and_threshold()
    {
        var spec = new ModelSpec(0.25, 64, Upsampling.NearestConv, alphaUp: 0.5);
        using var model = RandomModel(spec, 1);
        var normalization = new Normalization([0.5f, 0.4f, 0.3f], [0.2f, 0.25f, 0.125f]);
        var path = Path.Combine(Path.GetTempPath(), $"meta-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Export(model, path, new OnnxExportOptions { Normalization = normalization, Threshold = 0.375f });
            using var segmenter = OnnxSegmenter.Open(path);
            Assert.Equal(spec, segmenter.Spec);
            Assert.Equal(normalization, segmenter.Normalization);
            Assert.Equal(0.375f, segmenter.Metadata.Threshold);
            Assert.Equal(OnnxPart.Full, segmenter.Metadata.Part);
            Assert.Equal(OnnxPrecision.Fp32, segmenter.Metadata.Precision);
            Assert.Empty(Directory.GetFiles(Path.GetTempPath(), $".{Path.GetFileName(path)}*"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Graph_uses_the_deployable_operators_and_folds_every_batchnorm()
    {
        using var model = RandomModel(new ModelSpec(0.25, 64), 2);
        var proto = OnnxExporter.Build(model);
        var ops = proto.Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.Subset(new HashSet<string> { "Conv", "Clip", "ConvTranspose", "Concat", "Resize", "Sigmoid", "Identity" }, ops);
        Assert.DoesNotContain("BatchNormalization", ops);
        Assert.Equal(17, proto.OpsetImport.Single().Version);
        // 27 depthwise-block convs + 2 conv blocks + head; 13 + 4 grouped (depthwise) among them.
        Assert.Equal(2 * 17 + 2 + 1, proto.Graph.Node.Count(n => n.OpType == "Conv"));
        Assert.Equal(17, proto.Graph.Node.Count(n => n.OpType == "Conv" && n.Attribute.Single(a => a.Name == "group").I > 1));
    }
}
