using MobileUNet.Inference;
using MobileUNet.Model;

namespace MobileUNet.Tests;

// Seeding is torch's one global generator: tests that pin it must not share the process with parallel tests
// that draw from it (a parallel training test made two seed-3 models differ).
[Collection(nameof(SerialTiming))]
public class ModelSourceTests
{
    [Fact]
    public void Sniffs_weights_and_onnx_by_content_not_extension()
    {
        var dir = TestData.TempDir();
        var weights = Path.Combine(dir, "w.onnx"); // a misleading extension: content decides
        using (var source = new ModelSource.Untrained(new ModelSpec(0.25, 32)).LoadTorch().Model)
            WeightsFile.Save(source, weights);
        Assert.Equal(ModelFileKind.Weights, ModelSource.Sniff(weights));
        Assert.Equal(new ModelSpec(0.25, 32), new ModelSource.File(weights).ReadSpec());
        var onnx = Path.Combine(dir, "m.bin");
        File.WriteAllBytes(onnx, new ModelSource.File(weights).OnnxBytes().Bytes);
        Assert.Equal(ModelFileKind.Onnx, ModelSource.Sniff(onnx));
        Assert.Equal(new ModelSpec(0.25, 32), new ModelSource.File(onnx).ReadSpec());
    }

    [Fact]
    public void A_name_that_is_not_shipped_says_which_are_and_a_folder_is_not_a_model()
    {
        var error = Assert.Throws<FileNotFoundException>(() => ModelSource.Parse("no-such-model"));
        Assert.StartsWith("no-such-model: no such model file", error.Message);
        Assert.Throws<FileNotFoundException>(() => ModelSource.Parse("missing/model.munet"));
        var folder = Assert.Throws<InvalidDataException>(() => ModelSource.Parse(TestData.TempDir()));
        Assert.Contains("is a folder", folder.Message);
    }

    [Fact]
    public void Untrained_models_repeat_per_seed()
    {
        var a = new ModelSource.Untrained(new ModelSpec(0.25, 32), Seed: 3).OnnxBytes().Bytes;
        var b = new ModelSource.Untrained(new ModelSpec(0.25, 32), Seed: 3).OnnxBytes().Bytes;
        var c = new ModelSource.Untrained(new ModelSpec(0.25, 32), Seed: 4).OnnxBytes().Bytes;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }
}
