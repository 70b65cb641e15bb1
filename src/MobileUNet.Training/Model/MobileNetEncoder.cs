using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>
/// The encoder's outputs the decoder needs: the skips at S/2 (b00, b01), S/4 (b03), S/8 (b05), S/16 (b11),
/// and the bottleneck at S/32 (b13), in the order of <see cref="EncoderStages.Features"/>. Owns its tensors.
/// </summary>
public sealed record EncoderFeatures(Tensor B00, Tensor B01, Tensor B03, Tensor B05, Tensor B11, Tensor B13) : IDisposable
{
    public IEnumerable<Tensor> All => [B00, B01, B03, B05, B11, B13];

    public void Dispose()
    {
        foreach (var t in All) t.Dispose();
    }
}

/// <summary>Observes each layer of a forward pass (name, module, input, output): the summary's view of the model.</summary>
public delegate void LayerObserver(string name, string kind, nn.Module? module, Tensor input, Tensor output);

/// <summary>
/// MobileNet v1 without its classifier: a conv block and thirteen depthwise blocks, b00..b13, built from
/// <see cref="EncoderStages"/>. Each block is registered under its stage's name, so the state-dict keys stay
/// <c>encoder.b00.conv.weight</c>, <c>encoder.bNN.depthwise.weight</c> and so on: saved models, the exporter and
/// the pretrained-encoder loader depend on those names.
/// </summary>
public sealed class MobileNetEncoder : NativeModule<Tensor, EncoderFeatures>
{
    // One block per row of the table, in its order (registration order is the state dict's order).
    readonly nn.Module<Tensor, Tensor>[] blocks;

    public MobileNetEncoder(ModelSpec spec) : base("encoder")
    {
        Spec = spec;
        var stages = EncoderStages.All;
        blocks = new nn.Module<Tensor, Tensor>[stages.Count];
        for (int i = 0; i < stages.Count; i++)
        {
            var stage = stages[i];
            long inChannels = EncoderStages.InChannels(i, spec), outChannels = stage.OutChannels(spec);
            blocks[i] = stage.Depthwise
                ? new DepthwiseBlock(stage.Name, inChannels, outChannels, stage.Stride)
                : new ConvBlock(stage.Name, inChannels, outChannels, stage.Stride);
            register_module(stage.Name, blocks[i]);
        }
    }

    public ModelSpec Spec { get; }

    public override EncoderFeatures forward(Tensor x) => Forward(x, null);

    internal EncoderFeatures Forward(Tensor x, LayerObserver? observe)
    {
        var stages = EncoderStages.All;
        var features = new List<Tensor>(EncoderStages.Features.Count);
        var input = x;
        try
        {
            for (int i = 0; i < stages.Count; i++)
            {
                var output = blocks[i].forward(input);
                observe?.Invoke(stages[i].Name, stages[i].Kind, blocks[i], input, output);
                // An output the decoder does not read is freed once the next block has consumed it.
                if (i > 0 && !IsFeature(stages[i - 1])) input.Dispose();
                if (IsFeature(stages[i])) features.Add(output);
                input = output;
            }
        }
        catch
        {
            if (!ReferenceEquals(input, x) && !features.Any(f => ReferenceEquals(f, input))) input.Dispose();
            foreach (var f in features) f.Dispose();
            throw;
        }
        return new EncoderFeatures(features[0], features[1], features[2], features[3], features[4], features[5]);
    }

    static bool IsFeature(EncoderStage stage) => EncoderStages.Features.Contains(stage);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var b in blocks) b.Dispose();
        base.Dispose(disposing);
    }
}
