using System.Buffers.Binary;
using System.Text.Json;
using Google.Protobuf;
using MobileUNet.Benchmarks;
using MobileUNet.Data;
using MobileUNet.Export;
using MobileUNet.Export.Tflite;
using MobileUNet.Inference;
using MobileUNet.Model;
using Onnx;
using Xunit.Abstractions;

namespace MobileUNet.Tests;

/// <summary>The vendored MediaPipe selfie model (models/teachers/mediapipe-selfie), copied beside the tests.</summary>
static class Teachers
{
    public static string Selfie => Path.Combine(AppContext.BaseDirectory, "teachers", "selfie_segmentation.tflite");
    public static string SelfieLandscape => Path.Combine(AppContext.BaseDirectory, "teachers", "selfie_segmentation_landscape.tflite");
}

public sealed class TfliteImportTests(ITestOutputHelper output) : IDisposable
{
    const int Size = 256;
    readonly string dir = TestData.TempDir();

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Reader_sees_the_selfie_models_graph()
    {
        var model = TfliteModel.Read(Teachers.Selfie);
        Assert.Equal(3u, model.Version);
        var graph = Assert.Single(model.Subgraphs);
        Assert.Equal([1, Size, Size, 3], graph.Tensors[Assert.Single(graph.Inputs)].Shape);
        Assert.Equal([1, Size, Size, 1], graph.Tensors[Assert.Single(graph.Outputs)].Shape);
        var transposed = Assert.Single(graph.Operators, o => model.OperatorCodes[o.OpcodeIndex].CustomCode == TfliteGraphConverter.TransposeConvBias);
        // TfLiteTransposeConvParams as raw bytes: padding 1 (SAME), stride 2 x 2.
        Assert.Equal([1, 2, 2], [.. Enumerable.Range(0, 3).Select(i => BinaryPrimitives.ReadInt32LittleEndian(transposed.CustomOptions.AsSpan(4 * i)))]);
    }

    [Fact]
    public void Imported_model_carries_our_metadata_and_opens_like_any_export()
    {
        var path = Path.Combine(dir, "selfie.onnx");
        var summary = TfliteImporter.Import(Teachers.Selfie, path);
        Assert.Equal(ModelSpec.Foreign("selfie_segmentation", Size), summary.Spec);
        Assert.Equal("selfie_segmentation-s256", summary.Spec.Label);
        Assert.Equal(summary.Spec, new ModelSource.File(path).ReadSpec());
        Assert.Equal(ModelFileKind.Onnx, ModelSource.Sniff(path));

        using var segmenter = SegmenterFactory.Open(path, Backend.Onnx);
        var onnx = Assert.IsType<OnnxSegmenter>(segmenter);
        Assert.Equal(Normalization.UnitRange, onnx.Normalization);
        Assert.Equal(0.5f, onnx.Metadata.Threshold);
        Assert.Equal(Size, onnx.Spec.InputSize);
        var error = Assert.Throws<ArgumentException>(() => ModelSource.Parse(path).Open(Backend.Torch));
        Assert.Contains("ONNX", error.Message);
    }

    [Fact]
    public void Imported_model_passes_the_onnx_projects_own_checker()
    {
        var path = Path.Combine(dir, "selfie.onnx");
        TfliteImporter.Import(Teachers.Selfie, path);
        var result = OnnxPrecisionTests.RunProgram(Path.Combine(OnnxPrecisionTests.RepoRoot(), "scripts", "check-onnx.sh"), path);
        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        Assert.StartsWith("ok ", result.Stdout);
    }

    [Fact]
    public void Imported_model_records_its_size_and_bench_times_it_whole()
    {
        var path = Path.Combine(dir, "selfie.onnx");
        var summary = TfliteImporter.Import(Teachers.Selfie, path);
        var metadata = ModelSource.ReadOnnxMetadata(path);
        Assert.Equal(summary.Parameters, metadata.Parameters);
        Assert.Equal(summary.Macs, metadata.Macs);
        Assert.InRange(summary.Parameters, 100_000, 120_000);

        var budget = new BenchBudget(seconds: 0.05, minRuns: 3, warmupSeconds: 0, warmupRuns: 1);
        var doc = BenchStudy.Run(new BenchPlan([summary.Spec], ["onnx"], null, [1], 1, budget, ModelFile: path));
        var result = Assert.Single(doc.Results);
        Assert.Equal(summary.Spec, result.Spec);
        Assert.Equal((summary.Parameters, summary.Macs), (result.Parameters, result.Macs));
        Assert.Throws<ArgumentException>(() => BenchStudy.Run(new BenchPlan([summary.Spec], ["onnx"], null, [1], 1, budget, ModelFile: path, Parts: true)));
    }

    [Fact]
    public void Cli_eval_takes_the_imported_model_with_its_recorded_normalisation()
    {
        var path = Path.Combine(dir, "selfie.onnx");
        TfliteImporter.Import(Teachers.Selfie, path);
        var json = Path.Combine(dir, "eval.json");
        var r = Cli.Run("eval", "-m", path, "--voc", TestData.Voc, "--json", json);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        // The embedded VOC person photos: MediaPipe finds the people (an untrained or mis-normalised model would not).
        double iou = doc.RootElement.GetProperty("mean").GetProperty("iou").GetDouble();
        Assert.True(iou > 0.5, $"mean IoU {iou:0.000}");
    }

    [Fact]
    public void Imported_model_matches_a_float64_tflite_interpreter_within_1e_4()
    {
        var (proto, _) = TfliteImporter.Convert(Teachers.Selfie);
        using var segmenter = OnnxSegmenter.FromBytes(proto.ToByteArray(), "selfie");
        var reference = new TfliteReferenceInterpreter(TfliteModel.Read(Teachers.Selfie));

        // Uniform noise saturates the output near 0, so random inputs also include smooth random colour fields and
        // the photo under noise: outputs across (0, 1), where a layout or padding slip would show.
        var random = new Random(7);
        var noise = new byte[Size * Size * 4];
        random.NextBytes(noise);
        var grid = new RgbaImage(4, 4);
        random.NextBytes(grid.Pixels);
        var smooth = grid.Resize(Size, Size).Pixels;
        var photo = ImageFile.Read(Path.Combine(TestData.Root, "demo", "astronaut.png")).Resize(Size, Size);
        var noisyPhoto = photo.Pixels.Select(p => (byte)Math.Clamp(p + random.Next(-60, 61), 0, 255)).ToArray();
        bool midRange = false;
        foreach (var (name, pixels) in new[] { ("noise", noise), ("smooth random", smooth), ("astronaut + noise", noisyPhoto), ("astronaut", photo.Pixels) })
        {
            var chw = new float[3 * Size * Size];
            segmenter.Normalization.ToChw(pixels, 4, chw);
            var nhwc = new double[3 * Size * Size];
            for (int i = 0; i < Size * Size; i++)
                for (int c = 0; c < 3; c++) nhwc[i * 3 + c] = chw[c * Size * Size + i];
            var ours = new float[Size * Size];
            segmenter.Run(chw, ours);
            var expected = reference.Run(nhwc);
            double maxDiff = ours.Select((v, i) => Math.Abs(v - expected[i])).Max();
            output.WriteLine($"{name}: max abs diff {maxDiff:g3} (output {expected.Min():0.000}..{expected.Max():0.000}, {expected.Count(p => p is > 0.1 and < 0.9)} pixels in (0.1, 0.9))");
            Assert.True(maxDiff <= 1e-4, $"{name}: max abs diff {maxDiff:g3}");
            // Not a degenerate output: the photo has a person and a background.
            if (name == "astronaut") Assert.True(expected.Min() < 0.1 && expected.Max() > 0.9, $"astronaut: output range {expected.Min():0.00}..{expected.Max():0.00}");
            if (name != "astronaut") midRange |= expected.Count(p => p is > 0.1 and < 0.9) > 100;
        }
        Assert.True(midRange, "no random input gave outputs between 0.1 and 0.9");
    }

    [Fact]
    public void Not_a_tflite_file_is_one_clear_error()
    {
        var path = Path.Combine(dir, "notes.tflite");
        File.WriteAllText(path, "this is not a flatbuffer at all");
        var e = Assert.Throws<InvalidDataException>(() => TfliteImporter.Import(path, Path.Combine(dir, "out.onnx")));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a TFLite model", e.Message);
        Assert.False(File.Exists(Path.Combine(dir, "out.onnx")));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(64)]
    [InlineData(4096)]
    [InlineData(100_000)]
    public void Truncated_file_is_one_clear_error(int length)
    {
        var path = Path.Combine(dir, "cut.tflite");
        File.WriteAllBytes(path, File.ReadAllBytes(Teachers.Selfie)[..length]);
        var e = Assert.Throws<InvalidDataException>(() => TfliteModel.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Matches("not a (valid )?TFLite", e.Message);
    }

    [Fact]
    public void Unsupported_op_is_one_error_naming_the_op_and_the_file()
    {
        // Patch HARD_SWISH's operator code (both the int and the deprecated byte) to RESHAPE.
        var bytes = File.ReadAllBytes(Teachers.Selfie);
        var root = new FlatBuffer(bytes, "patch").Root();
        var code = root.Tables(1).Single(c => c.I32(3) == (int)TfliteBuiltin.HardSwish);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan((int)code.FieldPosition(3)), 22);
        bytes[code.FieldPosition(0)] = 22;
        var model = TfliteModel.Parse(bytes, "patched.tflite");
        var e = Assert.Throws<InvalidDataException>(() => TfliteImporter.Convert(model, null));
        Assert.StartsWith("patched.tflite: builtin op RESHAPE (22) is not supported", e.Message);
    }

    [Fact]
    public void Unsupported_schema_version_is_one_clear_error()
    {
        var bytes = File.ReadAllBytes(Teachers.Selfie);
        var root = new FlatBuffer(bytes, "patch").Root();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)root.FieldPosition(0)), 4);
        var e = Assert.Throws<InvalidDataException>(() => TfliteModel.Parse(bytes, "v4.tflite"));
        Assert.Equal("v4.tflite: TFLite schema version 4 is not supported (this reader reads version 3).", e.Message);
    }

    [Fact]
    public void Non_square_input_is_refused_naming_the_file()
    {
        var e = Assert.Throws<InvalidDataException>(() => TfliteImporter.Convert(Teachers.SelfieLandscape));
        Assert.Contains("144x256, not square", e.Message);
        Assert.StartsWith(Teachers.SelfieLandscape, e.Message);
    }

    [Fact]
    public void Import_never_writes_over_its_input()
    {
        var copy = Path.Combine(dir, "selfie.tflite");
        File.Copy(Teachers.Selfie, copy);
        Assert.Throws<ArgumentException>(() => TfliteImporter.Import(copy, copy));
        Assert.Equal(File.ReadAllBytes(Teachers.Selfie), File.ReadAllBytes(copy));
    }

    [Fact]
    public void Cli_import_writes_a_model_and_bad_input_fails_with_one_line()
    {
        var output = Path.Combine(dir, "selfie.onnx");
        var ok = Cli.Run("import", Teachers.Selfie, "-o", output);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Contains("selfie_segmentation-s256", ok.Stdout);
        Assert.Equal(ModelSpec.Foreign("selfie_segmentation", Size), new ModelSource.File(output).ReadSpec());

        var bad = Path.Combine(dir, "bad.tflite");
        File.WriteAllBytes(bad, new byte[100]);
        var r = Cli.Run("import", bad, "-o", Path.Combine(dir, "bad.onnx"));
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {bad}: not a TFLite model", line);
    }
}
