using Google.Protobuf;
using MobileUNet.Export;
using MobileUNet.Inference;
using MobileUNet.Model;
using Onnx;
using static MobileUNet.Tests.OnnxTestSupport;
using static TorchSharp.torch;
using MobileUNet.Data;

namespace MobileUNet.Tests;

public sealed class OnnxSegmenterTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("onnxseg-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Onnx_and_torch_backends_give_the_same_probabilities_from_one_weights_file()
    {
        // alpha 0.25 keeps every full 3x3 conv clear of libtorch's float32 conv fault (see ReferencePredict).
        var spec = new ModelSpec(0.25, 64);
        using (var model = RandomModel(spec, 21))
            WeightsFile.Save(model, Path.Combine(dir, "m.munet"), new() { [SegmenterFactory.NormalizationKey] = Normalization.ImageNet.ToJson() });
        var path = Path.Combine(dir, "m.munet");
        using var onnx = SegmenterFactory.Open(path, Backend.Onnx);
        using var torchSegmenter = SegmenterFactory.Open(path, Backend.Torch);
        Assert.IsType<OnnxSegmenter>(onnx);
        Assert.IsType<TorchSegmenter>(torchSegmenter);
        Assert.Equal(spec, onnx.Spec);

        var a = new float[64 * 64];
        var b = new float[64 * 64];
        for (int seed = 0; seed < 3; seed++)
        {
            var chw = Int8Calibration.SyntheticImage(64, seed);
            onnx.Run(chw, a);
            torchSegmenter.Run(chw, b);
            Assert.True(MaxAbsDiff(a, b) <= 1e-4f, $"seed {seed}: {MaxAbsDiff(a, b)}");
        }
    }

    [Fact]
    public void Threshold_is_the_one_the_model_records_else_one_half()
    {
        var spec = new ModelSpec(0.25, 64);
        using (var model = RandomModel(spec, 5))
        {
            OnnxExporter.Export(model, Path.Combine(dir, "t.onnx"), new OnnxExportOptions { Threshold = 0.3f });
            WeightsFile.Save(model, Path.Combine(dir, "t.munet"));
        }
        using var recorded = SegmenterFactory.Open(Path.Combine(dir, "t.onnx"), Backend.Onnx);
        using var torchSegmenter = SegmenterFactory.Open(Path.Combine(dir, "t.munet"), Backend.Torch);
        Assert.Equal(0.3f, recorded.Threshold);
        Assert.Equal(ISegmenter.DefaultThreshold, torchSegmenter.Threshold);
    }

    [Fact]
    public void Run_reuses_its_bound_buffers_without_allocating()
    {
        using (var model = RandomModel(new ModelSpec(0.25, 64), 3))
            OnnxExporter.Export(model, Path.Combine(dir, "m.onnx"));
        using var segmenter = OnnxSegmenter.Open(Path.Combine(dir, "m.onnx"), new RuntimeOptions { Threads = 1, AllowSpinning = false });
        var chw = Int8Calibration.SyntheticImage(64, 1);
        var first = new float[64 * 64];
        var again = new float[64 * 64];
        segmenter.Run(chw, first);
        segmenter.Run(Int8Calibration.SyntheticImage(64, 2), again);
        Assert.NotEqual(first, again);
        long allocated = Allocations.Fewest(() => { for (int i = 0; i < 5; i++) segmenter.Run(chw, again); });
        Assert.Equal(first, again);
        Assert.True(allocated < 1024, $"Run allocated {allocated} managed bytes over 5 calls");
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("fp16-io")]
    [InlineData("torch")]
    public void Segment_normalises_pixels_into_its_own_input_as_the_model_records_and_allocates_nothing(string backend)
    {
        const int s = 64, plane = s * s;
        var normalization = new Normalization([0.4f, 0.5f, 0.6f], [0.2f, 0.25f, 0.3f]);
        using (var model = RandomModel(new ModelSpec(0.25, s), 8))
        {
            OnnxExporter.Export(model, Path.Combine(dir, "fp32.onnx"), new OnnxExportOptions { Normalization = normalization });
            OnnxExporter.Export(model, Path.Combine(dir, "fp16-io.onnx"),
                new OnnxExportOptions { Normalization = normalization, Precision = OnnxPrecision.Fp16, Float16Io = true });
        }
        using var segmenter = backend == "torch"
            ? new TorchSegmenter(RandomModel(new ModelSpec(0.25, s), 8), normalization, ownsModel: true)
            : (ISegmenter)OnnxSegmenter.Open(Path.Combine(dir, backend + ".onnx"), new RuntimeOptions { Threads = 1, AllowSpinning = false });
        Assert.Equal(normalization, segmenter.Normalization);
        var rng = new Random(4);
        var rgba = new byte[2 * plane * 4];
        rng.NextBytes(rgba);
        var rgb = new byte[2 * plane * 3];
        for (int i = 0; i < 2 * plane; i++) (rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]) = (rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]);

        // The reference: the caller normalising by hand and handing over planar floats, as callers did before.
        var expected = new float[2 * plane];
        var chw = new float[3 * plane];
        for (int i = 0; i < 2; i++)
        {
            normalization.ToChw(rgba.AsSpan(i * plane * 4, plane * 4), 4, chw);
            segmenter.Run(chw, expected.AsSpan(i * plane, plane));
        }
        var fromRgba = new float[plane];
        var fromRgb = new float[plane];
        segmenter.Segment(rgba.AsSpan(0, plane * 4), 4, fromRgba);
        segmenter.Segment(rgb.AsSpan(0, plane * 3), 3, fromRgb);
        Assert.Equal(expected[..plane], fromRgba);
        Assert.Equal(expected[..plane], fromRgb);
        var batched = new float[2 * plane];
        segmenter.SegmentBatch(rgb, 3, 2, batched);
        Assert.True(MaxAbsDiff(expected, batched) < 1e-5f, $"batch differs by {MaxAbsDiff(expected, batched)}");

        // Eager torch makes managed tensor wrappers in every forward; the ONNX Runtime path (video's) makes none.
        if (backend != "torch")
        {
            long allocated = Allocations.Fewest(() =>
            {
                for (int i = 0; i < 5; i++) segmenter.Segment(rgb.AsSpan(0, plane * 3), 3, fromRgb);
                for (int i = 0; i < 5; i++) segmenter.SegmentBatch(rgb, 3, 2, batched);
            });
            Assert.True(allocated < 1024, $"Segment allocated {allocated} managed bytes over 10 calls");
        }
        Assert.Throws<ArgumentException>(() => segmenter.Segment(rgb.AsSpan(0, plane * 3 - 3), 3, fromRgb));
    }

    [Fact]
    public void Garbage_and_truncated_files_fail_with_the_file_name()
    {
        var garbage = Path.Combine(dir, "garbage.onnx");
        File.WriteAllText(garbage, "this is not a protobuf model");
        var e1 = Assert.Throws<InvalidDataException>(() => OnnxSegmenter.Open(garbage));
        Assert.Contains(garbage, e1.Message);

        using var model = RandomModel(new ModelSpec(0.25, 64), 4);
        var bytes = OnnxExporter.ToBytes(model);
        var truncated = Path.Combine(dir, "truncated.onnx");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var e2 = Assert.Throws<InvalidDataException>(() => OnnxSegmenter.Open(truncated));
        Assert.Contains(truncated, e2.Message);

        var missing = Path.Combine(dir, "missing.onnx");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => OnnxSegmenter.Open(missing)).Message);
    }

    [Fact]
    public void A_model_whose_input_is_not_N3SS_is_refused_with_the_file_name()
    {
        using var model = RandomModel(new ModelSpec(0.25, 64), 4);
        var proto = OnnxExporter.Build(model);
        var graph = new GraphProto { Name = "gray" };
        graph.Input.Add(ValueInfo("image", "N", 1, 64, 64));
        graph.Output.Add(ValueInfo("mask", "N", 1, 64, 64));
        var identity = new NodeProto { OpType = "Identity", Name = "id" };
        identity.Input.Add("image");
        identity.Output.Add("mask");
        graph.Node.Add(identity);
        proto.Graph = graph;
        var gray = Path.Combine(dir, "gray.onnx");
        File.WriteAllBytes(gray, proto.ToByteArray());
        var e = Assert.Throws<InvalidDataException>(() => OnnxSegmenter.Open(gray));
        Assert.Contains(gray, e.Message);
        Assert.Contains("[N,3,S,S]", e.Message);

        var decoder = Path.Combine(dir, "decoder.onnx");
        OnnxExporter.Export(model, decoder, new OnnxExportOptions { Part = OnnxPart.Decoder });
        Assert.Contains("6 inputs", Assert.Throws<InvalidDataException>(() => OnnxSegmenter.Open(decoder)).Message);
    }

    static ValueInfoProto ValueInfo(string name, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = (int)d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }
}
