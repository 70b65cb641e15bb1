using MobileUNet.Inference;
using MobileUNet.Model;

namespace MobileUNet.Tests;

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
    public void Untrained_models_repeat_per_seed_whatever_else_draws_from_torch()
    {
        // Seeded weights never come from torch's process-wide generator, which parallel tests draw from too (a
        // parallel training once made two seed-3 models differ): drawing from it in between changes nothing.
        var first = new ModelSource.Untrained(new ModelSpec(0.25, 32), Seed: 3).OnnxBytes().Bytes;
        TorchSharp.torch.manual_seed(12345);
        using (TorchSharp.torch.rand(1000)) { }
        Assert.Equal(first, new ModelSource.Untrained(new ModelSpec(0.25, 32), Seed: 3).OnnxBytes().Bytes);

        Assert.NotEqual(first, new ModelSource.Untrained(new ModelSpec(0.25, 32), Seed: 4).OnnxBytes().Bytes);
    }

    [Fact]
    public void The_inference_library_references_neither_TorchSharp_nor_the_training_library()
    {
        var references = typeof(ModelSource).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("Microsoft.ML.OnnxRuntime", references);
        Assert.DoesNotContain(references, r => r.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain("MobileUNet.Training", references);
        // ...while the training library, beside it here, is what opens weights for it.
        Assert.Contains("TorchSharp", typeof(WeightsFile).Assembly.GetReferencedAssemblies().Select(a => a.Name));
    }

    [Fact]
    public void Each_shipped_onnx_is_the_export_of_the_shipped_weights()
    {
        // The inference library runs a shipped model from NAME.onnx, the torch side from NAME.munet: they must be one
        // model, so a retrained .munet without its re-export fails here.
        var names = ModelSource.ShippedNames;
        Assert.Contains("person", names);
        foreach (var name in names)
        {
            var shipped = Assert.IsType<ModelSource.Shipped>(ModelSource.Parse(name));
            Assert.NotNull(shipped.WeightsPath);
            Assert.NotNull(shipped.OnnxPath);
            var exported = new ModelSource.File(shipped.WeightsPath).OnnxBytes().Bytes;
            Assert.True(exported.SequenceEqual(File.ReadAllBytes(shipped.OnnxPath)),
                $"models/{name}.onnx is not the export of models/{name}.munet: mobileunet export models/{name}.munet -o models/{name}.onnx");
            Assert.Equal(shipped.ReadSpec(), ModelSource.ReadOnnxMetadata(shipped.OnnxPath).Spec);
        }
    }
}
