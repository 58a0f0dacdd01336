using Fluid.Ast;

namespace LlmAdapt.Prompting.Templates;

/// <summary>
/// Walks a parsed Liquid template and collects the root names it reads (<c>customer</c> in <c>customer.name</c>),
/// less the names the template defines itself with <c>assign</c>, <c>capture</c> or a <c>for</c> loop.
/// </summary>
internal sealed class VariableCollector : AstVisitor
{
    private static readonly HashSet<string> s_builtIns = new(StringComparer.Ordinal) { "forloop", "empty", "blank", "nil", "null", "true", "false", "tablerowloop" };

    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    private readonly HashSet<string> _defined = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Collect(Fluid.IFluidTemplate template)
    {
        VisitTemplate(template);
        return [.. _read.Where(n => !_defined.Contains(n) && !s_builtIns.Contains(n)).Order(StringComparer.Ordinal)];
    }

    protected override Expression VisitMemberExpression(MemberExpression memberExpression)
    {
        if (memberExpression.Segments.Count > 0 && memberExpression.Segments[0] is IdentifierSegment root)
        {
            _read.Add(root.Identifier);
        }

        // Indexers such as items[key] read variables too.
        foreach (var segment in memberExpression.Segments)
        {
            if (segment is IndexerSegment indexer)
            {
                Visit(indexer.Expression);
            }
        }

        return memberExpression;
    }

    protected override Statement VisitAssignStatement(AssignStatement assignStatement)
    {
        _defined.Add(assignStatement.Identifier);
        return base.VisitAssignStatement(assignStatement);
    }

    protected override Statement VisitCaptureStatement(CaptureStatement captureStatement)
    {
        _defined.Add(captureStatement.Identifier);
        return base.VisitCaptureStatement(captureStatement);
    }

    protected override Statement VisitForStatement(ForStatement forStatement)
    {
        _defined.Add(forStatement.Identifier);
        return base.VisitForStatement(forStatement);
    }
}
