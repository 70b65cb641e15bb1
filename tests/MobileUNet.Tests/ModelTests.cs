using MobileUNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Tests;

public class ModelTests
{
    public static TheoryData<double, int> Grid()
    {
        var data = new TheoryData<double, int>();
        foreach (var a in new[] { 1.0, 0.75, 0.5, 0.25 })
            foreach (var s in new[] { 224, 192, 160, 128 })
                data.Add(a, s);
        return data;
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void Output_is_N1SS_for_every_grid_config(double alpha, int size)
    {
        Torch.EnsureReady();
        using var model = new Model.MobileUNet(new ModelSpec(alpha, size));
        model.eval();
        using var _ = no_grad();
        using var x = randn(2, 3, size, size);
        using var y = model.forward(x);
        Assert.Equal(new long[] { 2, 1, size, size }, y.shape);
    }

    [Theory]
    [InlineData(1.0, 6_740_321)]
    [InlineData(0.75, 3_607_687)]
    [InlineData(0.5, 1_529_785)]
    [InlineData(0.25, 371_639)]
    public void Trainable_parameters_equal_the_independent_count(double alpha, long expected)
    {
        using var model = new Model.MobileUNet(new ModelSpec(alpha, 224));
        Assert.Equal(expected, model.TrainableParameterCount());
        Assert.Equal(expected, ModelSummary.Of(model).Parameters);
    }

    [Fact]
    public void Macs_at_alpha_1_size_224_equal_the_independent_count()
    {
        var summary = ModelSummary.Of(new ModelSpec(1, 224));
        Assert.Equal(1_764_112_896, summary.Macs);
        Assert.Equal(summary.Macs, summary.EncoderMacs + summary.DecoderMacs);
    }

    [Fact]
    public void Summary_rows_follow_the_architecture()
    {
        var summary = ModelSummary.Of(new ModelSpec(0.5, 128));
        var names = summary.Layers.Select(l => l.Name).ToList();
        Assert.Equal(
            ["b00", "b01", "b02", "b03", "b04", "b05", "b06", "b07", "b08", "b09", "b10", "b11", "b12", "b13",
             "up1", "cat1", "b14", "up2", "cat2", "b15", "up3", "cat3", "b16", "up4", "cat4", "b17", "cat5", "b18", "head", "resize"],
            names);
        long[] Shape(string name) => summary.Layers.Single(l => l.Name == name).OutputShape;
        Assert.Equal(new long[] { 1, 16, 64, 64 }, Shape("b00"));
        Assert.Equal(new long[] { 1, 512, 4, 4 }, Shape("b13"));
        Assert.Equal(new long[] { 1, 512, 8, 8 }, Shape("cat1"));   // up1 c(512)=256 + skip b11 256
        Assert.Equal(new long[] { 1, 64, 64, 64 }, Shape("cat4"));  // up4 c(64)=32 + skip b01 32
        Assert.Equal(new long[] { 1, 32, 64, 64 }, Shape("cat5"));  // b17 u(64)=16 + b00 16, no upsampling
        Assert.Equal(new long[] { 1, 8, 64, 64 }, Shape("b18"));    // u(32) = floor(16 * 0.5)
        Assert.Equal(new long[] { 1, 1, 64, 64 }, Shape("head"));
        Assert.Equal(new long[] { 1, 1, 128, 128 }, Shape("resize"));
        Assert.Equal(9, summary.Layers.Single(l => l.Name == "head").Parameters); // 8 weights + bias
        Assert.All(summary.Layers.Where(l => l.Kind == "concat"), l => Assert.Equal(0, l.Parameters));
    }

    [Fact]
    public void State_dict_names_read_like_the_architecture()
    {
        using var model = new Model.MobileUNet(new ModelSpec(0.25, 128));
        var keys = model.state_dict().Keys.ToList();
        Assert.Contains("encoder.b00.conv.weight", keys);
        Assert.Contains("encoder.b13.pointwise.weight", keys);
        Assert.Contains("decoder.up1.transposed.bias", keys);
        Assert.Contains("decoder.b18.bn.running_mean", keys);
        Assert.Contains("decoder.head.bias", keys);
        // 1 conv block x 5 tensors + 17 dw blocks x 10 + 4 transposed x 2 + b18 x 5 + head x 2, BN num_batches_tracked excluded or not
        Assert.Equal(5 + 17 * 10 + 4 * 2 + 5 + 2, keys.Count(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)));
    }

    [Fact]
    public void Encoder_state_dict_keys_and_order_are_those_saved_models_use()
    {
        // Written out by hand, not from the stage table: .munet files and the pretrained loader name these keys.
        // TorchSharp lists every parameter first, then every buffer, each in registration order.
        string[] bnParameters = ["weight", "bias"], bnBuffers = ["running_mean", "running_var", "num_batches_tracked"];
        var parameters = new List<string> { "encoder.b00.conv.weight" };
        parameters.AddRange(bnParameters.Select(k => "encoder.b00.bn." + k));
        var buffers = bnBuffers.Select(k => "encoder.b00.bn." + k).ToList();
        for (int i = 1; i <= 13; i++)
        {
            string b = $"encoder.b{i:00}.";
            parameters.Add(b + "depthwise.weight");
            parameters.AddRange(bnParameters.Select(k => b + "bn1." + k));
            parameters.Add(b + "pointwise.weight");
            parameters.AddRange(bnParameters.Select(k => b + "bn2." + k));
            buffers.AddRange(bnBuffers.Select(k => b + "bn1." + k).Concat(bnBuffers.Select(k => b + "bn2." + k)));
        }
        using var model = new Model.MobileUNet(new ModelSpec(0.25, 64));
        var keys = model.state_dict().Keys.ToList();
        Assert.Equal(parameters, keys.Where(k => k.StartsWith("encoder.", StringComparison.Ordinal) && !IsBuffer(k)));
        Assert.Equal(buffers, keys.Where(k => k.StartsWith("encoder.", StringComparison.Ordinal) && IsBuffer(k)));
        // Parameters of the whole model come before any buffer, as in the files saved before the stage table.
        Assert.True(keys.FindLastIndex(k => !IsBuffer(k)) < keys.FindIndex(IsBuffer));
        Assert.Equal(EncoderStages.All.Select(s => s.Name), model.Encoder.named_children().Select(c => c.name));

        static bool IsBuffer(string key) => key.Contains(".running_", StringComparison.Ordinal) || key.EndsWith(".num_batches_tracked", StringComparison.Ordinal);
    }

    [Fact]
    public void Stage_table_gives_each_block_its_width_stride_and_skip()
    {
        var spec = new ModelSpec(0.5, 128);
        var summary = ModelSummary.Of(spec);
        for (int i = 0; i < EncoderStages.All.Count; i++)
        {
            var stage = EncoderStages.All[i];
            var row = summary.Layers.Single(l => l.Name == stage.Name);
            int side = stage.OutputSide(EncoderStages.InputSide(i, spec.InputSize));
            Assert.Equal(new long[] { 1, spec.C(stage.Width), side, side }, row.OutputShape);
            Assert.Equal(stage.Kind, row.Kind);
            Assert.Equal("encoder", row.Part);
        }
        // The typed features, the exporter's feature outputs and the table agree on which stages the decoder reads.
        Assert.Equal(["b00", "b01", "b03", "b05", "b11", "b13"], EncoderStages.Features.Select(f => f.Name));
        Assert.Equal(EncoderStages.Features.Select(f => f.Name), Export.OnnxExporter.FeatureNames);
        Assert.Equal(["B00", "B01", "B03", "B05", "B11", "B13"],
            typeof(EncoderFeatures).GetConstructors().Single().GetParameters().Select(p => p.Name));
        Assert.Equal(new long[] { 256, 8, 8 }, EncoderStages.FeatureShapes(spec)[4]); // b11: c(512) at S/16
    }

    [Fact]
    public void Skips_are_the_outputs_of_b00_b01_b03_b05_b11()
    {
        Torch.EnsureReady();
        manual_seed(11);
        using var model = new Model.MobileUNet(new ModelSpec(0.25, 64));
        model.train(); // batch statistics keep the untrained activations from saturating (see below)
        using var _ = no_grad();
        using var x = randn(2, 3, 64, 64);
        var traced = new Dictionary<string, Tensor>();
        model.Trace(x, (name, _, _, _, output) => traced[name] = output.clone()).Dispose();
        using var features = model.Encoder.forward(x);
        Assert.True(features.B00.allclose(traced["b00"]));
        Assert.True(features.B01.allclose(traced["b01"]));
        Assert.True(features.B03.allclose(traced["b03"]));
        Assert.True(features.B05.allclose(traced["b05"]));
        Assert.True(features.B11.allclose(traced["b11"]));
        Assert.True(features.B13.allclose(traced["b13"]));
        Assert.False(features.B11.allclose(traced["b10"]));
        foreach (var t in traced.Values) t.Dispose();
    }

    [Fact]
    public void Every_skip_reaches_the_output()
    {
        Torch.EnsureReady();
        manual_seed(7);
        using var model = new Model.MobileUNet(new ModelSpec(0.25, 64));
        // Train-mode BN normalises with batch statistics; an untrained net in eval mode saturates its ReLU6s,
        // which can hide a change in one input.
        model.train();
        using var _ = no_grad();
        using var x = randn(2, 3, 64, 64);
        using var features = model.Encoder.forward(x);
        using var reference = model.Decoder.forward(features);
        var names = new[] { "B00", "B01", "B03", "B05", "B11", "B13" };
        for (int i = 0; i < names.Length; i++)
        {
            var perturbed = features.All.Select((t, j) => j == i ? zeros_like(t) : t.clone()).ToArray();
            using var changed = new EncoderFeatures(perturbed[0], perturbed[1], perturbed[2], perturbed[3], perturbed[4], perturbed[5]);
            using var output = model.Decoder.forward(changed);
            Assert.False(output.allclose(reference), $"zeroing {names[i]} did not change the output");
        }
    }

    [Fact]
    public void Encoder_then_decoder_equals_forward_and_predict_is_sigmoid()
    {
        Torch.EnsureReady();
        using var model = new Model.MobileUNet(new ModelSpec(0.5, 96, Upsampling.BilinearConv));
        model.eval();
        using var _ = no_grad();
        using var x = randn(1, 3, 96, 96);
        using var whole = model.forward(x);
        using var features = model.Encoder.forward(x);
        using var parts = model.Decoder.forward(features);
        Assert.True(whole.allclose(parts));
        using var p = model.Predict(x);
        Assert.True(p.allclose(whole.sigmoid()));
        Assert.True(p.min().item<float>() >= 0 && p.max().item<float>() <= 1);
    }

    [Theory]
    [InlineData(Upsampling.BilinearConv)]
    [InlineData(Upsampling.NearestConv)]
    public void Resize_conv_decoders_keep_widths_and_shapes(Upsampling kind)
    {
        Torch.EnsureReady();
        var summary = ModelSummary.Of(new ModelSpec(1, 224, kind));
        var transposed = ModelSummary.Of(new ModelSpec(1, 224));
        Assert.Equal(
            transposed.Layers.Select(l => l.OutputShape),
            summary.Layers.Select(l => l.OutputShape));
        // 3x3 conv instead of 2x2 transposed conv: 9/4 of the weights, run at the output resolution.
        var up1 = summary.Layers.Single(l => l.Name == "up1");
        Assert.Equal(1024L * 512 * 9 + 512, up1.Parameters);
        Assert.Equal(1024L * 512 * 9 * 14 * 14, up1.Macs);
        Assert.Equal(transposed.EncoderParameters, summary.EncoderParameters);
    }
}
