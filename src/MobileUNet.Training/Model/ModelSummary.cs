using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>One row of a model summary: a block (or a parameter-free step such as a concat) in forward order.</summary>
public sealed record LayerSummary(string Name, string Kind, string Part, long[] OutputShape, long Parameters, long Macs);

/// <summary>
/// Per-layer facts of a MobileUNet, measured from the model itself: output shapes from a traced forward pass
/// on a zero batch, parameters from the modules' tensors, multiply-accumulates from each convolution's
/// weight shape and the spatial size it runs at.
/// </summary>
public sealed record ModelSummary(ModelSpec Spec, IReadOnlyList<LayerSummary> Layers)
{
    public long Parameters => Layers.Sum(l => l.Parameters);
    public long Macs => Layers.Sum(l => l.Macs);
    [JsonIgnore] public long EncoderParameters => Layers.Where(l => l.Part == "encoder").Sum(l => l.Parameters);
    [JsonIgnore] public long DecoderParameters => Layers.Where(l => l.Part == "decoder").Sum(l => l.Parameters);
    [JsonIgnore] public long EncoderMacs => Layers.Where(l => l.Part == "encoder").Sum(l => l.Macs);
    [JsonIgnore] public long DecoderMacs => Layers.Where(l => l.Part == "decoder").Sum(l => l.Macs);

    public static ModelSummary Of(MobileUNet model)
    {
        var rows = new List<LayerSummary>();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            using var input = zeros(1, 3, model.Spec.InputSize, model.Spec.InputSize);
            model.Trace(input, (name, kind, module, layerInput, output) =>
            {
                string part = EncoderStages.Contains(name) ? "encoder" : "decoder";
                rows.Add(new LayerSummary(name, kind, part, output.shape, TrainableParameters(module), CountMacs(module, layerInput, output)));
            }).Dispose();
        }
        finally
        {
            model.train(wasTraining);
        }
        return new ModelSummary(model.Spec, rows);
    }

    public static ModelSummary Of(ModelSpec spec)
    {
        using var model = new MobileUNet(spec);
        return Of(model);
    }

    static long TrainableParameters(nn.Module? module) =>
        module is null ? 0 : module.parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    // A convolution does weight.numel() MACs per output position; a transposed convolution does weight.numel()
    // per input position (each input pixel scatters its kernel). Everything in one row runs at the row's
    // output resolution except a transposed conv, which runs at its input's.
    static long CountMacs(nn.Module? module, Tensor input, Tensor output)
    {
        if (module is null) return 0;
        long outHw = output.shape[2] * output.shape[3];
        long inHw = input.shape[2] * input.shape[3];
        long total = 0;
        var leaves = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance) { module };
        foreach (var (_, child) in module.named_modules()) leaves.Add(child);
        foreach (var leaf in leaves)
        {
            if (leaf is Conv2d conv) total += conv.weight!.numel() * outHw;
            else if (leaf is ConvTranspose2d up) total += up.weight!.numel() * inHw;
        }
        return total;
    }
}
