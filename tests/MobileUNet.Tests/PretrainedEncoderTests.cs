using System.Text.Json.Nodes;
using MobileUNet.Data;
using MobileUNet.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Tests;

/// <summary>
/// The TF.js MobileNet v1 reader, checked against a network written out in TensorFlow's layout from a torch model
/// (BN folded into the pointwise convolutions, kernels transposed, one tensor uint8-quantised): loading it back must
/// give the torch model's function.
/// </summary>
public sealed class PretrainedEncoderTests : IDisposable
{
    const double Eps = 1e-3;
    readonly string dir = Directory.CreateTempSubdirectory("munet-tfjs-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void A_network_written_in_tensorflow_layout_loads_back_to_the_same_encoder()
    {
        using var source = RandomisedModel();
        var manifest = WriteManifest(source);

        // With the normalisation MobileNet was trained with (x * 2 - 1 on [0, 1]) the fold is the identity: equal everywhere.
        var unitScale = new Normalization([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]);
        using var loaded = new Model.MobileUNet(source.Spec);
        PretrainedEncoder.LoadInto(loaded, manifest, unitScale);
        loaded.eval();
        using var _ = no_grad();
        using var x = randn(2, 3, 64, 64, generator: new Generator(7));
        using (var expected = source.Encoder.forward(x))
        using (var actual = loaded.Encoder.forward(x))
            foreach (var (e, a) in expected.All.Zip(actual.All))
                AssertClose(e, a, 2e-4);
    }

    [Fact]
    public void The_input_scaling_is_folded_into_the_first_convolution()
    {
        using var source = RandomisedModel();
        var manifest = WriteManifest(source);
        using var loaded = new Model.MobileUNet(source.Spec);
        PretrainedEncoder.LoadInto(loaded, manifest, Normalization.ImageNet);
        loaded.eval();
        using var _ = no_grad();

        // The same photo p in [0, 1]: the source sees 2p - 1, the loaded model ImageNet-normalised p.
        using var p = rand(1, 3, 64, 64, generator: new Generator(3));
        using var mean = tensor(Normalization.ImageNet.Mean).view(1, 3, 1, 1);
        using var std = tensor(Normalization.ImageNet.Std).view(1, 3, 1, 1);
        using var tf = p.mul(2).sub(1);
        using var imagenet = p.sub(mean).div(std);
        using var expected = source.Encoder.forward(tf);
        using var actual = loaded.Encoder.forward(imagenet);
        // Zero padding differs at the border (0 in TF's input space is p = 0.5, not the channel mean): compare inside it.
        using var e = expected.B00.narrow(2, 1, 30).narrow(3, 1, 30);
        using var a = actual.B00.narrow(2, 1, 30).narrow(3, 1, 30);
        AssertClose(e, a, 2e-4);
    }

    [Fact]
    public void A_narrower_model_takes_the_leading_channels_of_each_layer()
    {
        using var source = RandomisedModel();
        var manifest = WriteManifest(source);
        using var narrow = new Model.MobileUNet(new ModelSpec(0.5, 64));
        PretrainedEncoder.LoadInto(narrow, manifest, Normalization.ImageNet);
        using var expected = source.state_dict()["encoder.b05.depthwise.weight"].narrow(0, 0, 128);
        AssertClose(expected, narrow.state_dict()["encoder.b05.depthwise.weight"], 0);
    }

    [Fact]
    public void Bad_manifests_are_refused_with_the_reason()
    {
        using var source = RandomisedModel();
        var manifest = WriteManifest(source);
        var json = JsonNode.Parse(File.ReadAllText(manifest))!.AsArray();
        using var model = new Model.MobileUNet(source.Spec);

        string Refusal(Action<JsonArray> edit, string name)
        {
            var copy = JsonNode.Parse(json.ToJsonString())!.AsArray();
            edit(copy);
            var path = Path.Combine(dir, name);
            File.WriteAllText(path, copy.ToJsonString());
            var e = Assert.Throws<InvalidDataException>(() => PretrainedEncoder.LoadInto(model, path, Normalization.ImageNet));
            Assert.Contains(path, e.Message);
            return e.Message;
        }

        Assert.Contains("no weight 'MobilenetV1/Conv2d_7_pointwise/weights'",
            Refusal(m => m[0]!["weights"]!.AsArray().First(w => (string)w!["name"]! == "MobilenetV1/Conv2d_7_pointwise/weights")!["name"] = "renamed", "renamed.json"));
        Assert.Contains("lacks 'shape'", Refusal(m => m[0]!["weights"]!.AsArray()[0]!.AsObject().Remove("shape"), "noshape.json"));
        Assert.Contains("not a plain file name", Refusal(m => m[0]!["paths"] = new JsonArray("../w.bin"), "escape.json"));
        Assert.Contains("past the shards'", Refusal(m => m[0]!["weights"]!.AsArray()[0]!["shape"] = new JsonArray(4096, 4096), "long.json"));
        File.WriteAllText(Path.Combine(dir, "garbage.json"), "{\"not\": \"a list\"}");
        Assert.Contains("not a TF.js weights manifest",
            Assert.Throws<InvalidDataException>(() => PretrainedEncoder.LoadInto(model, Path.Combine(dir, "garbage.json"), Normalization.ImageNet)).Message);
    }

    [Fact]
    public void The_shipped_encoder_is_found_by_name_and_loads_into_any_width()
    {
        var manifest = Inference.ModelSource.PretrainedEncoderPath("mobilenet-v1");
        var tensors = TfjsWeights.Read(manifest);
        Torch.EnsureReady();
        using var model = new Model.MobileUNet(new ModelSpec(0.25, 64));
        PretrainedEncoder.LoadInto(model, manifest, Normalization.ImageNet);
        // b03's depthwise batch norm carries over as stored (first 32 of its 128 channels at alpha 0.25).
        var expected = tensors["MobilenetV1/Conv2d_3_depthwise/BatchNorm/moving_variance"].Values.Take(32).ToArray();
        Assert.Equal(expected, model.state_dict()["encoder.b03.bn1.running_var"].data<float>().ToArray());

        var e = Assert.Throws<FileNotFoundException>(() => Inference.ModelSource.PretrainedEncoderPath("mobilenet-v9"));
        Assert.Contains("shipped: mobilenet-v1", e.Message);
        // train, sweep and demo read --encoder-weights alike: absent or "none" means from scratch.
        Assert.Null(Inference.ModelSource.PretrainedEncoderPathOrNone(null));
        Assert.Null(Inference.ModelSource.PretrainedEncoderPathOrNone("None"));
        Assert.Equal(manifest, Inference.ModelSource.PretrainedEncoderPathOrNone("mobilenet-v1"));
    }

    [Fact]
    public void A_wider_layer_takes_the_pretrained_one_in_its_leading_channels_and_keeps_its_own_start_in_the_rest()
    {
        // A width-0.25 network loaded into alpha 0.5: b12 holds 256 channels there and 512 here (a pretrained
        // MobileNet narrower than the model, as PoseNet's width 0.75 is in its last layers at alpha 0.5).
        using var source = RandomisedModel(alpha: 0.25);
        var manifest = WriteManifest(source);
        var tensors = TfjsWeights.Read(manifest);
        using var model = new Model.MobileUNet(new ModelSpec(0.5, 64), seed: 5);
        using var fresh = new Model.MobileUNet(new ModelSpec(0.5, 64), seed: 5);
        PretrainedEncoder.LoadInto(model, manifest, Normalization.ImageNet);
        using var _ = no_grad();
        var loaded = model.state_dict()["encoder.b12.pointwise.weight"]; // [512, 256, 1, 1]
        var start = fresh.state_dict()["encoder.b12.pointwise.weight"];
        var (shape, values) = tensors["MobilenetV1/Conv2d_12_pointwise/weights"]; // [1, 1, 128, 256]
        Assert.Equal([1L, 1, 128, 256], shape);
        using var pretrained = tensor(values).view(128, 256).t().reshape(256, 128, 1, 1);
        AssertClose(pretrained, loaded.narrow(0, 0, 256).narrow(1, 0, 128), 0);
        AssertClose(start.narrow(0, 256, 256), loaded.narrow(0, 256, 256), 0);
        AssertClose(start.narrow(1, 128, 128), loaded.narrow(1, 128, 128), 0);
        // The folded bias of the 256 channels lands in the batch norm's shift; the other 256 keep a fresh norm.
        var bias = model.state_dict()["encoder.b12.bn2.bias"];
        Assert.Equal(tensors["MobilenetV1/Conv2d_12_pointwise/convolution_bn_offset"].Values, bias.narrow(0, 0, 256).data<float>().ToArray());
        Assert.All(bias.narrow(0, 256, 256).data<float>().ToArray(), b => Assert.Equal(0f, b));
        // A depthwise kernel is filled in its leading channels too: b11's first 128 of 256.
        var (dwShape, dwValues) = tensors["MobilenetV1/Conv2d_11_depthwise/depthwise_weights"]; // [3, 3, 128, 1]
        using var dw = tensor(dwValues).view(dwShape).permute(2, 3, 0, 1);
        AssertClose(dw, model.state_dict()["encoder.b11.depthwise.weight"].narrow(0, 0, 128), 0);
    }

    // A model (alpha 1 unless given) with random BN scales, shifts and statistics, so that folding them is visible.
    static Model.MobileUNet RandomisedModel(double alpha = 1)
    {
        Torch.EnsureReady();
        torch.manual_seed(11);
        var model = new Model.MobileUNet(new ModelSpec(alpha, 64));
        using var _ = no_grad();
        foreach (var (name, t) in model.state_dict().Where(kv => kv.Key.StartsWith("encoder.") && kv.Key.Contains(".bn")))
        {
            if (name.EndsWith(".weight")) t.uniform_(0.5, 1.5);
            else if (name.EndsWith(".bias") || name.EndsWith(".running_mean")) t.uniform_(-0.2, 0.2);
            else if (name.EndsWith(".running_var")) t.uniform_(0.5, 2);
        }
        model.eval();
        return model;
    }

    // The encoder in TensorFlow's MobileNet v1 layout and names, as face-api ships it: one shard, float32 except
    // block 1's depthwise gamma (uint8, whose dequantised values are written back into the source first).
    string WriteManifest(Model.MobileUNet model)
    {
        var state = model.state_dict();
        var weights = new JsonArray();
        using var bin = new MemoryStream();

        void Add(string name, Tensor t)
        {
            var values = t.contiguous().data<float>().ToArray();
            weights.Add(new JsonObject { ["name"] = name, ["shape"] = new JsonArray(t.shape.Select(d => JsonValue.Create(d)).ToArray<JsonNode?>()), ["dtype"] = "float32" });
            foreach (var v in values) bin.Write(BitConverter.GetBytes(v));
        }

        void AddQuantised(string name, Tensor target)
        {
            const double min = 0.5, scale = 1.0 / 255;
            var q = Enumerable.Range(0, (int)target.shape[0]).Select(i => (byte)(i * 37 % 256)).ToArray();
            target.copy_(tensor(q.Select(b => (float)(min + scale * b)).ToArray()));
            weights.Add(new JsonObject
            {
                ["name"] = name,
                ["shape"] = new JsonArray(target.shape[0]),
                ["dtype"] = "float32",
                ["quantization"] = new JsonObject { ["dtype"] = "uint8", ["min"] = min, ["scale"] = scale },
            });
            bin.Write(q);
        }

        // A folded conv: TF kernel [kh, kw, in, out] with the BN's scale, and the BN's shift as a bias.
        void AddFolded(string prefix, string conv, string bn)
        {
            using var scope = NewDisposeScope();
            var k = state[bn + ".weight"].div(state[bn + ".running_var"].add(Eps).sqrt());
            Add(prefix + "weights", state[conv].mul(k.view(-1, 1, 1, 1)).permute(2, 3, 1, 0));
            Add(prefix + "convolution_bn_offset", state[bn + ".bias"].sub(state[bn + ".running_mean"].mul(k)));
        }

        using (no_grad())
        {
            Add("Preprocessor/mul/x", tensor(new[] { 2f / 255 }));
            Add("Preprocessor/sub/y", tensor(new[] { 1f }));
            AddFolded("MobilenetV1/Conv2d_0_pointwise/", "encoder.b00.conv.weight", "encoder.b00.bn");
            for (int i = 1; i <= 13; i++)
            {
                string b = $"encoder.b{i:00}", dw = $"MobilenetV1/Conv2d_{i}_depthwise/";
                Add(dw + "depthwise_weights", state[b + ".depthwise.weight"].permute(2, 3, 0, 1));
                if (i == 1) AddQuantised(dw + "BatchNorm/gamma", state[b + ".bn1.weight"]);
                else Add(dw + "BatchNorm/gamma", state[b + ".bn1.weight"]);
                Add(dw + "BatchNorm/beta", state[b + ".bn1.bias"]);
                Add(dw + "BatchNorm/moving_mean", state[b + ".bn1.running_mean"]);
                Add(dw + "BatchNorm/moving_variance", state[b + ".bn1.running_var"]);
                AddFolded($"MobilenetV1/Conv2d_{i}_pointwise/", b + ".pointwise.weight", b + ".bn2");
            }
        }
        File.WriteAllBytes(Path.Combine(dir, "w.bin"), bin.ToArray());
        var path = Path.Combine(dir, "manifest.json");
        File.WriteAllText(path, new JsonArray(new JsonObject { ["paths"] = new JsonArray("w.bin"), ["weights"] = weights }).ToJsonString());
        return path;
    }

    static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var diff = expected.sub(actual).abs().max();
        using var scale = expected.abs().max();
        double d = diff.item<float>(), s = scale.item<float>();
        Assert.True(d <= tolerance * Math.Max(1, s), $"max abs diff {d} (max |expected| {s})");
    }
}
